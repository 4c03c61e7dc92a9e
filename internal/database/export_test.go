package database

// CachedStatements reports how many statements db's pool has prepared and kept.
func CachedStatements(db *DB) int {
	db.stmts.mu.RLock()
	defer db.stmts.mu.RUnlock()
	return len(db.stmts.stmts)
}
