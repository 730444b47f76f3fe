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
