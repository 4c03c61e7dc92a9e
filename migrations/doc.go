// Package migrations owns the versioned SQL schema of Portcullis: one numbered set for PostgreSQL
// and one for SQLite, with the same numbering, embedded in the binary and applied with goose.
// Stores in other packages read and write these tables; they never change the schema themselves.
package migrations
