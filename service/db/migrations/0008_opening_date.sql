-- The day an account was opened, on which its opening balance is booked (until now always
-- the day it was created).
ALTER TABLE accounts ADD COLUMN opening_date date;

UPDATE accounts SET opening_date = (create_time AT TIME ZONE 'UTC')::date;

ALTER TABLE accounts ALTER COLUMN opening_date SET NOT NULL;
