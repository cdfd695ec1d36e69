"""End-to-end benchmark of finance-tracker against PostgreSQL's own ceiling (pgbench)."""
