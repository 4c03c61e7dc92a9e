-- +goose Up
-- An organisation's branding on its sign-in pages and its password rules (issue 6, the admin
-- Policy page; authn/directory validates them). Empty branding changes nothing on the pages.
-- brand_logo_uri is an https URL (the page's CSP allows that one origin for images);
-- brand_colour is "#rrggbb" or empty.
ALTER TABLE organisations ADD COLUMN brand_name TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN brand_logo_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN brand_colour TEXT NOT NULL DEFAULT '';
-- The shortest new password the organisation accepts: never below 12 (NIST SP 800-63B
-- §5.1.1.2 and authn/password), at most 64.
ALTER TABLE organisations ADD COLUMN password_min_length INTEGER NOT NULL DEFAULT 12;

-- +goose Down
ALTER TABLE organisations DROP COLUMN password_min_length;
ALTER TABLE organisations DROP COLUMN brand_colour;
ALTER TABLE organisations DROP COLUMN brand_logo_uri;
ALTER TABLE organisations DROP COLUMN brand_name;
