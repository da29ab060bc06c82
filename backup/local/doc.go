// Package local is a [backup.Transport] over a local directory or a mounted
// volume (an NFS export, a USB disk, a bind mount of a backup node).
//
// Objects are files below the directory; a name's slashes are directories
// (mode 0700), created as needed. Put writes to a reserved temporary file
// (".<base>.<random>.tmp", mode 0600) in the object's directory, syncs it,
// renames it over the name and syncs the directory, so an object is either
// absent, the old version or the complete new one, even across a crash.
// A failed Put removes its temporary file; one left behind by a crash is
// never listed (names starting with a dot are reserved), and can be removed
// by hand.
//
// All access goes through [os.Root], so no name and no symbolic link can
// reach outside the directory. The directory is opened afresh for each
// operation, so a volume mounted after [New] is the one written to; New
// refuses a directory that does not exist rather than create it, so that a
// missing mount fails instead of filling the root file system.
//
// It does not remove directories left empty by Delete, and it does not
// coordinate concurrent Puts of the same name (package backup's locks do).
package local
