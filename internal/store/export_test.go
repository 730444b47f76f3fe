package store

// SealedColumnsForTest lists "table.column" of every column a key rotation
// looks through, for the external tests.
func SealedColumnsForTest() map[string]bool {
	out := map[string]bool{"patient_keys.wrapped": true}
	for _, c := range sealedColumns {
		out[c.table+"."+c.column] = true
	}
	return out
}

// PlaintextForBenchmark makes db store record cells without encrypting
// them (and without reading keys): the baseline for encryption's cost.
func PlaintextForBenchmark(db *DB) { db.plaintext = true }
