package openpgp

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/opskit/opskit/backup"
)

var (
	_ backup.Signer   = (*Signer)(nil)
	_ backup.Verifier = (*Verifier)(nil)
)

// Errors from Verify.
var (
	// ErrBadSignature means a signature is malformed, uses a weak hash, or
	// does not match the message.
	ErrBadSignature = errors.New("openpgp: bad signature")
	// ErrUnknownSigner means a signature was made by a key the Verifier
	// does not trust.
	ErrUnknownSigner = errors.New("openpgp: signature by an unknown key")
)

// defaultHash is the signature digest: SHA-512 (GnuPG 2.2 verifies it; an
// Ed25519 signature over it is as cheap as over SHA-256).
const defaultHash = crypto.SHA512

// Signer makes ASCII-armored detached signatures (binary document,
// SHA-512) that `gpg --verify sig msg` accepts. It is safe for concurrent
// use.
type Signer struct {
	key *PrivateKey
	// Now returns the signature time; nil means time.Now.
	Now func() time.Time
}

// NewSigner returns a Signer with (a copy of) key, which must be unlocked
// (see PrivateKey.Unlock; a locked key matches ErrLocked) and able to sign
// now (else a *KeyError).
func NewSigner(key *PrivateKey) (*Signer, error) {
	if key == nil || key.e == nil {
		return nil, errors.New("openpgp: nil signing key")
	}
	if err := usable(key.e, time.Now(), false); err != nil {
		return nil, err
	}
	sk, _ := key.e.SigningKey(time.Now())
	if sk.PrivateKey == nil || sk.PrivateKey.Dummy() {
		return nil, fmt.Errorf("openpgp: key %s holds no secret signing key", key.Fingerprint())
	}
	if sk.PrivateKey.Encrypted {
		return nil, fmt.Errorf("%w: unlock key %s before signing with it", ErrLocked, key.Fingerprint())
	}
	c, err := key.clone()
	if err != nil {
		return nil, err
	}
	return &Signer{key: c}, nil
}

// Fingerprint returns the signing key's primary fingerprint, upper-case hex.
func (s *Signer) Fingerprint() string { return s.key.Fingerprint() }

// Sign returns an ASCII-armored detached signature of msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	cfg := &packet.Config{DefaultHash: defaultHash, Time: func() time.Time { return now }}
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, s.key.e, bytes.NewReader(msg), cfg); err != nil {
		return nil, fmt.Errorf("openpgp: sign with %s: %w", s.Fingerprint(), err)
	}
	return buf.Bytes(), nil
}

// Verifier checks detached signatures, armored or binary, against a set of
// trusted public keys. Signatures over SHA-1, MD5 or RIPEMD-160 are
// rejected. It is safe for concurrent use.
type Verifier struct {
	keys openpgp.EntityList
	// Now returns the time at which keys must be valid; nil means
	// time.Now.
	Now func() time.Time
}

// NewVerifier returns a Verifier that trusts keys.
func NewVerifier(keys ...*PublicKey) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("openpgp: a Verifier needs at least one trusted key")
	}
	v := &Verifier{}
	for _, k := range keys {
		if k == nil || k.e == nil {
			return nil, errors.New("openpgp: nil trusted key")
		}
		v.keys = append(v.keys, k.e)
	}
	return v, nil
}

// Verify checks sig over msg and returns the fingerprint (upper-case hex)
// of the primary key that made it. An unknown key matches
// ErrUnknownSigner; anything else wrong matches ErrBadSignature.
func (v *Verifier) Verify(msg, sig []byte) (string, error) {
	cfg := &packet.Config{}
	if v.Now != nil {
		cfg.Time = v.Now
	}
	raw, err := signaturePackets(sig)
	if err != nil {
		return "", err
	}
	signer, err := openpgp.CheckDetachedSignature(v.keys, bytes.NewReader(msg), bytes.NewReader(raw), cfg)
	switch {
	case err == nil && signer != nil:
		return FormatFingerprint(signer.PrimaryKey.Fingerprint), nil
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return "", ErrUnknownSigner
	case err == nil:
		return "", ErrBadSignature
	}
	return "", fmt.Errorf("%w: %s", ErrBadSignature, sigReason(err))
}

// strongHashes are the digests a signature may use: SHA-256 or better.
var strongHashes = map[crypto.Hash]bool{
	crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true,
	crypto.SHA3_256: true, crypto.SHA3_512: true,
}

// signaturePackets unarmors sig if needed and checks that it is a sequence
// of signature packets over strong digests.
func signaturePackets(sig []byte) ([]byte, error) {
	raw := sig
	if bytes.HasPrefix(bytes.TrimLeft(sig, " \t\r\n"), []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(bytes.TrimLeft(sig, " \t\r\n")))
		if err != nil {
			return nil, fmt.Errorf("%w: bad ASCII armor: %v", ErrBadSignature, err)
		}
		if block.Type != openpgp.SignatureType {
			return nil, fmt.Errorf("%w: armor block is %q, not a signature", ErrBadSignature, block.Type)
		}
		if raw, err = io.ReadAll(io.LimitReader(block.Body, 1<<20)); err != nil {
			return nil, fmt.Errorf("%w: bad ASCII armor: %v", ErrBadSignature, err)
		}
	}
	packets := packet.NewReader(bytes.NewReader(raw))
	n := 0
	for {
		p, err := packets.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBadSignature, sigReason(err))
		}
		s, ok := p.(*packet.Signature)
		if !ok {
			return nil, fmt.Errorf("%w: not a detached signature (found a %T packet)", ErrBadSignature, p)
		}
		if !strongHashes[s.Hash] {
			return nil, fmt.Errorf("%w: digest %v is too weak (SHA-256 or better is required)", ErrBadSignature, s.Hash)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no signature packet", ErrBadSignature)
	}
	return raw, nil
}

func sigReason(err error) string {
	var se pgperrors.StructuralError
	var ue pgperrors.UnsupportedError
	switch {
	case errors.As(err, &se):
		return "malformed: " + string(se)
	case errors.As(err, &ue):
		return "unsupported: " + string(ue)
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		return "signature expired"
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return "the signing key was expired"
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return "the signing key is revoked"
	}
	return err.Error()
}
