package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ManifestFormat is the "format" field of every opskit manifest.
const ManifestFormat = "opskit-backup-manifest"

// ManifestVersion is the manifest format version this package writes and
// the newest it reads.
const ManifestVersion = 1

// Manifest describes one complete backup. It is written last, after every
// volume is stored, and is the backup's commit marker: a backup without a
// manifest (and its signature) does not exist. It holds no file names or
// other user data, since the backup node can read it.
type Manifest struct {
	Format      string    `json:"format"`  // ManifestFormat
	Version     int       `json:"version"` // ManifestVersion
	ID          string    `json:"id"`      // e.g. 20261122T010203Z-a1b2c3, sorts by time
	Instance    string    `json:"instance"`
	Created     time.Time `json:"created"`   // when the snapshot started
	Completed   time.Time `json:"completed"` // when the last volume was stored
	Tool        string    `json:"tool"`      // program and version that wrote it
	Source      string    `json:"source"`    // kind of snapshot: "dir" or "command"
	Compression string    `json:"compression"`
	Encryption  string    `json:"encryption"`
	Recipients  []string  `json:"recipients"` // fingerprints of the keys that can decrypt
	Signer      string    `json:"signer"`     // fingerprint of the key that signed this manifest
	Hash        string    `json:"hash"`       // "sha256"
	PlainSize   int64     `json:"plain_size"` // bytes of the snapshot stream before compression
	StoredSize  int64     `json:"stored_size"`
	Files       int64     `json:"files,omitempty"` // entries in a directory snapshot
	Volumes     []Volume  `json:"volumes"`
	Index       *Volume   `json:"index,omitempty"` // encrypted file index of a directory snapshot
}

// Volume is one stored object of a backup: a complete OpenPGP message.
type Volume struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex of the stored (encrypted) bytes
}

// ErrManifest is wrapped by every error about a malformed manifest.
var ErrManifest = errors.New("invalid backup manifest")

// ErrUnsupportedVersion is returned (wrapped) for a manifest or other
// record written by a newer opskit than this one.
var ErrUnsupportedVersion = errors.New("unsupported format version")

var (
	idPattern       = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)
	instancePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	hexSHA256       = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fingerprint     = regexp.MustCompile(`^[0-9A-F]{40}([0-9A-F]{24})?$`)
)

// ValidInstance checks an instance name: 1-63 characters of lower-case
// letters, digits, '.', '_' and '-', starting with a letter or digit (so it
// fits a DNS label and a path element).
func ValidInstance(name string) error {
	if !instancePattern.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("invalid instance name %q: use 1-63 of a-z 0-9 . _ -, starting with a letter or digit", name)
	}
	return nil
}

// Marshal returns the manifest's canonical JSON encoding (what is signed).
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and validates a manifest. It does not check the
// signature: callers verify the raw bytes first (see Repository).
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrManifest, len(data), maxManifestSize)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if head.Format != ManifestFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrManifest, head.Format, ManifestFormat)
	}
	if head.Version > ManifestVersion {
		return nil, fmt.Errorf("%w: manifest version %d (this program reads up to %d): upgrade opskit", ErrUnsupportedVersion, head.Version, ManifestVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrManifest)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

const maxManifestSize = 64 << 20

func (m *Manifest) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Format != ManifestFormat:
		return bad("format %q", m.Format)
	case m.Version < 1 || m.Version > ManifestVersion:
		return bad("version %d", m.Version)
	case !idPattern.MatchString(m.ID):
		return bad("id %q", m.ID)
	case ValidInstance(m.Instance) != nil:
		return bad("instance %q", m.Instance)
	case m.Created.IsZero() || m.Completed.Before(m.Created):
		return bad("times created=%s completed=%s", m.Created, m.Completed)
	case m.Compression != "zstd":
		return bad("compression %q (want zstd)", m.Compression)
	case m.Encryption != "openpgp":
		return bad("encryption %q (want openpgp)", m.Encryption)
	case m.Hash != "sha256":
		return bad("hash %q (want sha256)", m.Hash)
	case m.Source != "dir" && m.Source != "command":
		return bad("source %q", m.Source)
	case len(m.Recipients) == 0:
		return bad("no recipients")
	case len(m.Volumes) == 0:
		return bad("no volumes")
	case m.PlainSize < 0 || m.StoredSize < 0 || m.Files < 0:
		return bad("negative size")
	}
	for _, r := range m.Recipients {
		if !fingerprint.MatchString(r) {
			return bad("recipient fingerprint %q", r)
		}
	}
	if m.Signer != "" && !fingerprint.MatchString(m.Signer) {
		return bad("signer fingerprint %q", m.Signer)
	}
	prefix := dataPrefix(m.Instance, m.ID)
	var total int64
	check := func(v Volume) error {
		if err := ValidName(v.Name); err != nil || !strings.HasPrefix(v.Name, prefix) {
			return bad("volume name %q outside %s", v.Name, prefix)
		}
		if v.Size < 0 || !hexSHA256.MatchString(v.SHA256) {
			return bad("volume %s: size %d, sha256 %q", v.Name, v.Size, v.SHA256)
		}
		total += v.Size
		return nil
	}
	seen := make(map[string]bool, len(m.Volumes))
	for _, v := range m.Volumes {
		if err := check(v); err != nil {
			return err
		}
		if seen[v.Name] {
			return bad("volume %s listed twice", v.Name)
		}
		seen[v.Name] = true
	}
	if m.Index != nil {
		if err := check(*m.Index); err != nil {
			return err
		}
	}
	if total != m.StoredSize {
		return bad("stored_size %d, volumes add up to %d", m.StoredSize, total)
	}
	return nil
}

// Layout of a repository on a Transport, per instance:
//
//	INSTANCE/snapshots/ID.json      the manifest (commit marker, written last)
//	INSTANCE/snapshots/ID.json.asc  its detached OpenPGP signature (written just before)
//	INSTANCE/snapshots/ID.verified.json(.asc)  signed record of the last remote verification
//	INSTANCE/data/ID/vol-NNNNNN.zst.pgp        volumes, restored in order
//	INSTANCE/data/ID/index.jsonl.zst.pgp       encrypted file index (directory snapshots)
//	INSTANCE/locks/*.json           lock objects
func snapshotsPrefix(instance string) string { return instance + "/snapshots/" }
func manifestName(instance, id string) string {
	return snapshotsPrefix(instance) + id + ".json"
}
func dataPrefix(instance, id string) string { return instance + "/data/" + id + "/" }
func volumeName(instance, id string, n int) string {
	return fmt.Sprintf("%svol-%06d.zst.pgp", dataPrefix(instance, id), n)
}
func indexName(instance, id string) string { return dataPrefix(instance, id) + "index.jsonl.zst.pgp" }
