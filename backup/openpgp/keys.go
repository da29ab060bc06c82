package openpgp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Errors about keys. Callers branch on them with errors.Is.
var (
	// ErrWrongPassphrase means a passphrase did not unlock a private key.
	ErrWrongPassphrase = errors.New("openpgp: wrong passphrase")
	// ErrLocked means a private key is passphrase-protected and has not been
	// unlocked (see PrivateKey.Unlock).
	ErrLocked = errors.New("openpgp: private key is locked")
	// ErrUnusableKey means a key cannot be used for what was asked: it
	// cannot encrypt or sign, or it is expired or revoked. The error is a
	// *KeyError naming the key and the reason.
	ErrUnusableKey = errors.New("openpgp: key cannot be used")
	// ErrNoKeys means a key file or stream holds no key of the wanted kind.
	ErrNoKeys = errors.New("openpgp: no keys found")
)

// KeyError says which key cannot be used and why. It matches ErrUnusableKey.
type KeyError struct {
	Fingerprint string // upper-case hex of the primary key
	Reason      string // "is revoked", "expired on 2026-01-02", "has no encryption subkey", ...
}

// Error describes the failure.
func (e *KeyError) Error() string {
	return fmt.Sprintf("openpgp: key %s %s", e.Fingerprint, e.Reason)
}

// Is makes errors.Is(err, ErrUnusableKey) true.
func (e *KeyError) Is(target error) bool { return target == ErrUnusableKey }

// PublicKey is an OpenPGP certificate: a v4 primary public key with its
// user IDs, subkeys and self-signatures, as `gpg --export` writes it.
type PublicKey struct {
	e *openpgp.Entity
}

// PrivateKey is an OpenPGP secret key (as `gpg --export-secret-keys`
// writes it), possibly passphrase-protected. A locked key must be unlocked
// with Unlock before it can sign; a Decryptor unlocks its keys itself.
type PrivateKey struct {
	e *openpgp.Entity
}

// Fingerprint returns the primary key's fingerprint, upper-case hex
// (40 digits for v4 keys), the form manifests record.
func (k *PublicKey) Fingerprint() string { return FormatFingerprint(k.e.PrimaryKey.Fingerprint) }

// KeyID returns the primary key's 64-bit key ID, 16 upper-case hex digits.
func (k *PublicKey) KeyID() string { return formatKeyID(k.e.PrimaryKey.KeyId) }

// UserIDs returns the key's user IDs ("Name (comment) <email>"), sorted.
func (k *PublicKey) UserIDs() []string { return userIDs(k.e) }

// Fingerprint returns the primary key's fingerprint, upper-case hex.
func (k *PrivateKey) Fingerprint() string { return FormatFingerprint(k.e.PrimaryKey.Fingerprint) }

// UserIDs returns the key's user IDs, sorted.
func (k *PrivateKey) UserIDs() []string { return userIDs(k.e) }

// Public returns the public part of the key.
func (k *PrivateKey) Public() *PublicKey {
	var buf bytes.Buffer
	if err := k.e.Serialize(&buf); err != nil {
		// Serialize writes public packets to memory; it fails only on
		// a malformed entity, which ReadPrivateKeys/GenerateKey never make.
		return &PublicKey{e: k.e}
	}
	el, err := openpgp.ReadKeyRing(&buf)
	if err != nil || len(el) != 1 {
		return &PublicKey{e: k.e}
	}
	return &PublicKey{e: el[0]}
}

// Locked reports whether some of the key's secret material is still
// passphrase-protected.
func (k *PrivateKey) Locked() bool {
	if k.e.PrivateKey != nil && !k.e.PrivateKey.Dummy() && k.e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range k.e.Subkeys {
		if s.PrivateKey != nil && !s.PrivateKey.Dummy() && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Unlock decrypts the key's secret material with passphrase, in place. A
// wrong passphrase returns an error matching ErrWrongPassphrase; unlocking
// an unlocked key does nothing. Unlock is not safe to call concurrently with
// other uses of the same key.
func (k *PrivateKey) Unlock(passphrase []byte) error {
	if !k.Locked() {
		return nil
	}
	if err := k.e.DecryptPrivateKeys(passphrase); err != nil {
		return fmt.Errorf("%w for key %s", ErrWrongPassphrase, k.Fingerprint())
	}
	return nil
}

// clone returns an independent copy of the key, so that unlocking it does
// not touch the caller's key.
func (k *PrivateKey) clone() (*PrivateKey, error) {
	var buf bytes.Buffer
	if err := k.e.SerializePrivateWithoutSigning(&buf, nil); err != nil {
		return nil, fmt.Errorf("openpgp: copy key %s: %w", k.Fingerprint(), err)
	}
	el, err := openpgp.ReadKeyRing(&buf)
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("openpgp: copy key %s: %v", k.Fingerprint(), err)
	}
	return &PrivateKey{e: el[0]}, nil
}

// KeyOptions describe a key to generate.
type KeyOptions struct {
	Name    string // user ID name, e.g. "opskit instance demo"; required
	Email   string // optional
	Comment string // optional
	// Lifetime after which the key expires; zero means never.
	Lifetime time.Duration
	// Created is the key's creation time; zero means now.
	Created time.Time
	// Rand is the source of randomness; nil means crypto/rand.
	Rand io.Reader
}

// GenerateKey makes a new v4 key pair that GnuPG 2.2 reads: an Ed25519
// primary key that certifies and signs (the daemon's manifest signing key)
// and a Curve25519 ECDH subkey that encrypts (an instance's backup key).
// Preferences name AES-256, SHA-512/SHA-256 and no compression.
func GenerateKey(opts KeyOptions) (*PrivateKey, error) {
	if strings.TrimSpace(opts.Name) == "" {
		return nil, errors.New("openpgp: generate key: a name is required")
	}
	for _, s := range []string{opts.Name, opts.Email, opts.Comment} {
		if strings.ContainsAny(s, "()<>\x00") {
			return nil, fmt.Errorf("openpgp: generate key: %q contains one of ()<> or NUL", s)
		}
	}
	if opts.Lifetime < 0 || opts.Lifetime > 100*365*24*time.Hour {
		return nil, fmt.Errorf("openpgp: generate key: lifetime %v out of range", opts.Lifetime)
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Now()
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	cfg := &packet.Config{
		Rand:                   rnd,
		Time:                   func() time.Time { return created },
		Algorithm:              packet.PubKeyAlgoEdDSA, // legacy EdDSA + ECDH cv25519: v4 keys GnuPG 2.2 reads
		Curve:                  packet.Curve25519,
		DefaultHash:            defaultHash,
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		KeyLifetimeSecs:        uint32(opts.Lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(opts.Name, opts.Comment, opts.Email, cfg)
	if err != nil {
		return nil, fmt.Errorf("openpgp: generate key: %w", err)
	}
	return &PrivateKey{e: e}, nil
}

// ReadPublicKeys reads one or more public keys, ASCII-armored or binary.
// Private key material in the input is ignored. It returns ErrNoKeys if the
// input holds no key.
func ReadPublicKeys(r io.Reader) ([]*PublicKey, error) {
	el, err := readKeyRing(r)
	if err != nil {
		return nil, err
	}
	keys := make([]*PublicKey, 0, len(el))
	for _, e := range el {
		var buf bytes.Buffer
		if err := e.Serialize(&buf); err != nil {
			return nil, fmt.Errorf("openpgp: key %s: %w", FormatFingerprint(e.PrimaryKey.Fingerprint), err)
		}
		pub, err := openpgp.ReadKeyRing(&buf)
		if err != nil || len(pub) != 1 {
			return nil, fmt.Errorf("openpgp: key %s: cannot extract its public part", FormatFingerprint(e.PrimaryKey.Fingerprint))
		}
		keys = append(keys, &PublicKey{e: pub[0]})
	}
	return keys, nil
}

// ReadPrivateKeys reads one or more private keys, ASCII-armored or binary.
// It returns ErrNoKeys if the input holds no private key.
func ReadPrivateKeys(r io.Reader) ([]*PrivateKey, error) {
	el, err := readKeyRing(r)
	if err != nil {
		return nil, err
	}
	var keys []*PrivateKey
	for _, e := range el {
		if !hasSecret(e) {
			continue
		}
		keys = append(keys, &PrivateKey{e: e})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: the input holds public keys only", ErrNoKeys)
	}
	return keys, nil
}

// ReadPublicKeyFile reads the public keys in a file, armored or binary.
// Errors name the file.
func ReadPublicKeyFile(path string) ([]*PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	keys, err := ReadPublicKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// ReadPrivateKeyFile reads the private keys in a file, armored or binary.
// Errors name the file and never include key material.
func ReadPrivateKeyFile(path string) ([]*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys, err := ReadPrivateKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// maxKeyFile bounds how much of a key file is read: real keys are a few KiB.
const maxKeyFile = 16 << 20

func readKeyRing(r io.Reader) (openpgp.EntityList, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("openpgp: read keys: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("openpgp: read keys: more than %d bytes, not a key file", maxKeyFile)
	}
	var body io.Reader = bytes.NewReader(data)
	if t := bytes.TrimLeft(data, " \t\r\n"); bytes.HasPrefix(t, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(t))
		if err != nil {
			return nil, fmt.Errorf("openpgp: read keys: bad ASCII armor: %w", err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("openpgp: read keys: armor block is %q, not a key", block.Type)
		}
		body = block.Body
	}
	el, err := openpgp.ReadKeyRing(body)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the input ends before a complete key", ErrNoKeys)
		}
		return nil, fmt.Errorf("openpgp: read keys: %s", describe(err))
	}
	if len(el) == 0 {
		return nil, ErrNoKeys
	}
	for _, e := range el {
		if e.PrimaryKey.Version != 4 {
			return nil, fmt.Errorf("openpgp: read keys: key %s is a v%d key; GnuPG 2.2 reads v4 keys only", FormatFingerprint(e.PrimaryKey.Fingerprint), e.PrimaryKey.Version)
		}
	}
	return el, nil
}

// describe turns a go-crypto parse error into a message without key bytes.
func describe(err error) string {
	var se pgperrors.StructuralError
	var ue pgperrors.UnsupportedError
	switch {
	case errors.As(err, &se):
		return "malformed key data: " + string(se)
	case errors.As(err, &ue):
		return "unsupported key data: " + string(ue)
	}
	return err.Error()
}

func hasSecret(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && !e.PrivateKey.Dummy() {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && !s.PrivateKey.Dummy() {
			return true
		}
	}
	return false
}

// WriteArmored writes the public key, ASCII-armored, as `gpg --armor
// --export` would.
func (k *PublicKey) WriteArmored(w io.Writer) error {
	aw, err := armor.Encode(w, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	if err := k.e.Serialize(aw); err != nil {
		return fmt.Errorf("openpgp: write key %s: %w", k.Fingerprint(), err)
	}
	return aw.Close()
}

// WriteArmored writes the private key, ASCII-armored. With a non-empty
// passphrase the secret material is protected with it (iterated and salted
// S2K, AES-256), which GnuPG reads; an already locked key is written as it
// is and then passphrase must be empty.
func (k *PrivateKey) WriteArmored(w io.Writer, passphrase []byte) error {
	out := k
	if len(passphrase) > 0 {
		if k.Locked() {
			return fmt.Errorf("openpgp: write key %s: %w; unlock it before protecting it with a new passphrase", k.Fingerprint(), ErrLocked)
		}
		c, err := k.clone()
		if err != nil {
			return err
		}
		cfg := &packet.Config{DefaultCipher: packet.CipherAES256}
		if err := c.e.EncryptPrivateKeys(passphrase, cfg); err != nil {
			return fmt.Errorf("openpgp: protect key %s: %w", k.Fingerprint(), err)
		}
		out = c
	}
	aw, err := armor.Encode(w, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if err := out.e.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return fmt.Errorf("openpgp: write key %s: %w", k.Fingerprint(), err)
	}
	return aw.Close()
}

// WritePublicKeyFile writes the armored public key to a new file (mode
// 0644). It never overwrites: an existing file is an error matching
// fs.ErrExist.
func WritePublicKeyFile(path string, k *PublicKey) error {
	return writeNew(path, 0o644, k.WriteArmored)
}

// WritePrivateKeyFile writes the armored private key to a new file with
// mode 0600, protected with passphrase if it is not empty. It never
// overwrites an existing file (fs.ErrExist), and removes what it wrote if
// writing fails.
func WritePrivateKeyFile(path string, k *PrivateKey, passphrase []byte) error {
	return writeNew(path, 0o600, func(w io.Writer) error { return k.WriteArmored(w, passphrase) })
}

func writeNew(path string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	werr := write(f)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, werr)
	}
	return nil
}

// FormatFingerprint formats a fingerprint as upper-case hex without spaces.
func FormatFingerprint(fpr []byte) string { return strings.ToUpper(hex.EncodeToString(fpr)) }

func formatKeyID(id uint64) string { return fmt.Sprintf("%016X", id) }

func userIDs(e *openpgp.Entity) []string {
	ids := make([]string, 0, len(e.Identities))
	for name := range e.Identities {
		ids = append(ids, name)
	}
	sort.Strings(ids)
	return ids
}

// usable checks that e can encrypt (or sign) now, with a reason if not.
func usable(e *openpgp.Entity, now time.Time, encrypt bool) error {
	fpr := FormatFingerprint(e.PrimaryKey.Fingerprint)
	bad := func(format string, args ...any) error {
		return &KeyError{Fingerprint: fpr, Reason: fmt.Sprintf(format, args...)}
	}
	if e.Revoked(now) {
		return bad("is revoked")
	}
	sig, id := e.PrimarySelfSignature()
	if sig == nil {
		return bad("has no valid self-signature")
	}
	if e.PrimaryKey.KeyExpired(sig, now) {
		return bad("expired on %s", expiry(e.PrimaryKey.CreationTime, sig.KeyLifetimeSecs))
	}
	if sig.SigExpired(now) {
		return bad("has an expired self-signature")
	}
	if id != nil && id.Revoked(now) {
		return bad("has its primary user ID revoked")
	}
	if encrypt {
		if _, ok := e.EncryptionKey(now); !ok {
			return bad("has no valid encryption subkey (none, or all expired or revoked)")
		}
		return nil
	}
	if _, ok := e.SigningKey(now); !ok {
		return bad("has no valid signing key")
	}
	return nil
}

func expiry(created time.Time, secs *uint32) string {
	if secs == nil {
		return "?"
	}
	return created.Add(time.Duration(*secs) * time.Second).UTC().Format(time.RFC3339)
}
