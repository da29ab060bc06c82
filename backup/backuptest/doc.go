// Package backuptest is the conformance suite for [backup.Transport]
// implementations, and an in-memory Transport for other packages' tests.
//
// Every Transport (backup/local, backup/sftp, backup/rsync, and any
// third-party one) runs [TestTransport] from its own tests:
//
//	func TestConformance(t *testing.T) {
//		backuptest.TestTransport(t, func(t *testing.T) backup.Transport {
//			tr, err := local.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return tr
//		})
//	}
//
// The suite checks what the Transport documentation promises: round trips
// of empty, small and several-MiB (streamed) objects, replacement in place,
// prefix listing (nested names, byte-order sorting, a prefix is a plain
// string prefix), names that [backup.ValidName] rejects are refused before
// anything is read or written, missing objects match [fs.ErrNotExist] for
// Open and Delete, a Put whose reader fails or whose context is cancelled
// midway leaves no listed object and keeps the previous object of that name,
// temporary files are never listed, context cancellation is honoured by
// every method and by the reader Open returns, concurrent Puts of distinct
// names in a fresh directory all succeed, and a name that collides with a
// "directory" of other names fails without losing data.
//
// [MemTransport] keeps objects in memory and passes the suite; use it where
// a test needs a Transport but is not about transports. It does not
// survive the process and holds every object in memory.
package backuptest
