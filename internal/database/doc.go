// Package database opens the one database Portcullis runs on (SQLite by default, PostgreSQL in
// production), applies the schema from package migrations, and gives the stores a few shared
// helpers: sentinel errors, transactions carried in a context, and unique-violation detection.
// The stores themselves live with the packages that use them.
package database
