-- Revisions (the etags) come from one sequence instead of counting per row, so an etag is
-- never seen twice: not even on a resource deleted and created again under the same name,
-- where a per-row count would start over and an old etag would match the new resource.
CREATE SEQUENCE revisions;

ALTER TABLE users ALTER COLUMN revision SET DEFAULT nextval('revisions');
ALTER TABLE accounts ALTER COLUMN revision SET DEFAULT nextval('revisions');
ALTER TABLE categories ALTER COLUMN revision SET DEFAULT nextval('revisions');
ALTER TABLE payees ALTER COLUMN revision SET DEFAULT nextval('revisions');
ALTER TABLE transactions ALTER COLUMN revision SET DEFAULT nextval('revisions');

-- Rows written before: past every revision they already have.
SELECT setval('revisions', GREATEST(
    (SELECT max(revision) FROM users),
    (SELECT max(revision) FROM accounts),
    (SELECT max(revision) FROM categories),
    (SELECT max(revision) FROM payees),
    (SELECT max(revision) FROM transactions),
    1
));
