-- +goose Up
-- The admin API and pages read the audit log newest first, a page at a time, by organisation and
-- optionally by user (package internal/audit, Query): keyset pages on id need these to stay one
-- index range scan however large the log grows.
CREATE INDEX audit_events_org_id_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_org_user_idx ON audit_events (org_id, user_id, id);

-- +goose Down
DROP INDEX audit_events_org_user_idx;
DROP INDEX audit_events_org_id_idx;
