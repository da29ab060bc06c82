package openpgp

import (
	"crypto/aes"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/opskit/opskit/backup"
)

var _ backup.Decryptor = (*Decryptor)(nil)

// Errors from Decrypt and from reading what it returns. Callers branch on
// them with errors.Is (and errors.As for *NoKeyError).
var (
	// ErrNoKey means none of the Decryptor's keys can decrypt the message.
	// The error is a *NoKeyError listing the key IDs the message is for.
	ErrNoKey = errors.New("openpgp: no private key for this message")
	// ErrIntegrity means the message was altered or cut short: the
	// modification detection code does not match, the message is
	// truncated, or its encrypted parts are corrupt. Data already read
	// from such a message must be discarded.
	ErrIntegrity = errors.New("openpgp: message integrity check failed")
	// ErrMalformed means the input is not an OpenPGP encrypted message.
	ErrMalformed = errors.New("openpgp: not a valid encrypted OpenPGP message")
	// ErrUnsupported means the message uses something this package does
	// not decrypt (a passphrase-only message, an unknown algorithm).
	ErrUnsupported = errors.New("openpgp: unsupported message")
)

// NoKeyError lists the key IDs (16 upper-case hex digits; "0000000000000000"
// for a hidden recipient) that can decrypt a message none of the
// Decryptor's keys can. It matches ErrNoKey.
type NoKeyError struct {
	KeyIDs []string
}

// Error describes the failure.
func (e *NoKeyError) Error() string {
	return fmt.Sprintf("openpgp: no private key for this message: it is encrypted to key IDs %s", strings.Join(e.KeyIDs, ", "))
}

// Is makes errors.Is(err, ErrNoKey) true.
func (e *NoKeyError) Is(target error) bool { return target == ErrNoKey }

// Decryptor decrypts OpenPGP messages with a set of private keys: what an
// Encryptor made, and what `gpg --encrypt` makes with its defaults
// (compressed data, signed-and-encrypted messages, AEAD packets). Keeping
// several keys supports rotation: new backups go to the new key while old
// ones stay restorable with the old.
//
// A Decryptor is safe for concurrent use.
type Decryptor struct {
	// Passphrase, if set, is asked for the passphrase of a locked key the
	// first time that key is needed, with the key's fingerprint; the
	// unlocked key is then kept for later messages. Set it before the first
	// Decrypt. Without it, a locked key that is needed is an error matching
	// ErrLocked.
	Passphrase func(fingerprint string) ([]byte, error)
	// Sequential, when true, computes the integrity hash on the reading
	// goroutine. By default it runs on a second goroutine, overlapping
	// decryption and the caller's work, when GOMAXPROCS > 1.
	Sequential bool

	mu   sync.Mutex // guards unlocking keys and decrypting session keys
	keys openpgp.EntityList
	byID map[*openpgp.Entity]*PrivateKey
}

// NewDecryptor returns a Decryptor with copies of keys (unlocking them
// later does not touch the caller's keys).
func NewDecryptor(keys ...*PrivateKey) (*Decryptor, error) {
	if len(keys) == 0 {
		return nil, errors.New("openpgp: a Decryptor needs at least one private key")
	}
	d := &Decryptor{byID: map[*openpgp.Entity]*PrivateKey{}}
	for _, k := range keys {
		if k == nil || k.e == nil {
			return nil, errors.New("openpgp: nil private key")
		}
		c, err := k.clone()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, c.e)
		d.byID[c.e] = c
	}
	return d, nil
}

// Decrypt reads the message's key packets from src, finds a key that
// decrypts its session key, and returns a reader of the plaintext. The
// integrity check (MDC) covers the whole message, so a reader that returns
// io.EOF has verified it; tampering or truncation is reported by Read, at
// the latest instead of io.EOF, as an error matching ErrIntegrity. Nothing
// after the end of the message is read from src.
func (d *Decryptor) Decrypt(src io.Reader) (io.Reader, error) {
	packets := packet.NewReader(src)
	var eks []*packet.EncryptedKey
	symmetric := false
	var data packet.EncryptedDataPacket
	for data == nil {
		p, err := packets.Next()
		if err != nil {
			return nil, headerError(err, len(eks) > 0 || symmetric)
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			eks = append(eks, p)
		case *packet.SymmetricKeyEncrypted:
			symmetric = true
		case *packet.SymmetricallyEncrypted:
			if !p.IntegrityProtected {
				return nil, fmt.Errorf("%w: the message has no integrity protection (old symmetrically encrypted packet); refusing it", ErrIntegrity)
			}
			data = p
		case *packet.AEADEncrypted:
			data = p
		case *packet.LiteralData, *packet.Compressed, *packet.OnePassSignature, *packet.Signature:
			return nil, fmt.Errorf("%w: the message is not encrypted", ErrMalformed)
		case *packet.PublicKey, *packet.PrivateKey, *packet.UserId:
			return nil, fmt.Errorf("%w: the input is a key, not a message", ErrMalformed)
		}
	}
	if len(eks) == 0 {
		if symmetric {
			return nil, fmt.Errorf("%w: the message is encrypted with a passphrase, not to a key", ErrUnsupported)
		}
		return nil, fmt.Errorf("%w: encrypted data without a session key packet", ErrMalformed)
	}
	cf, key, err := d.sessionKey(eks)
	if err != nil {
		return nil, err
	}
	plain, err := decryptData(data, cf, key, !d.Sequential && runtime.GOMAXPROCS(0) > 1)
	if err != nil {
		return nil, err
	}
	md, err := openpgp.ReadMessage(plain, openpgp.EntityList{}, nil, nil)
	if err != nil {
		// The start of the plaintext does not parse: either tampering or a
		// message we cannot read; the MDC tells which.
		return nil, plain.fail(err)
	}
	return &reader{body: md.UnverifiedBody, plain: plain}, nil
}

func headerError(err error, started bool) error {
	var ue pgperrors.UnsupportedError
	switch {
	case errors.Is(err, io.EOF) && !started:
		return fmt.Errorf("%w: empty input", ErrMalformed)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if started {
			return fmt.Errorf("%w: the message is truncated", ErrIntegrity)
		}
		return fmt.Errorf("%w: truncated packet", ErrMalformed)
	case errors.As(err, &ue):
		return fmt.Errorf("%w: %s", ErrUnsupported, string(ue))
	}
	var se pgperrors.StructuralError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s", ErrMalformed, string(se))
	}
	if isPGPError(err) {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return err // an I/O error from src
}

// sessionKey decrypts the first session key packet one of d's keys can
// open: keys that need no passphrase first, then locked ones.
func (d *Decryptor) sessionKey(eks []*packet.EncryptedKey) (packet.CipherFunction, []byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	var lastErr error
	for pass := 0; pass < 2; pass++ {
		for _, ek := range eks {
			if pass == 0 {
				ids = append(ids, formatKeyID(ek.KeyId))
			}
			var keys []openpgp.Key
			if ek.KeyId == 0 {
				keys = d.keys.DecryptionKeys()
			} else {
				keys = d.keys.KeysById(ek.KeyId)
			}
			for _, k := range keys {
				pk := k.PrivateKey
				if pk == nil || pk.Dummy() || pk.PubKeyAlgo != ek.Algo {
					continue
				}
				if pk.Encrypted {
					if pass == 0 {
						continue
					}
					if err := d.unlock(k); err != nil {
						lastErr = err
						continue
					}
				}
				if err := ek.Decrypt(pk, nil); err != nil {
					if ek.KeyId != 0 {
						lastErr = fmt.Errorf("%w: cannot decrypt the session key for key %s: it is corrupt", ErrIntegrity, formatKeyID(ek.KeyId))
					}
					continue
				}
				return ek.CipherFunc, ek.Key, nil
			}
		}
	}
	if lastErr != nil {
		return 0, nil, lastErr
	}
	return 0, nil, &NoKeyError{KeyIDs: ids}
}

// unlock asks for the passphrase of k's entity and unlocks all its keys.
func (d *Decryptor) unlock(k openpgp.Key) error {
	pk := d.byID[k.Entity]
	if pk == nil {
		return ErrLocked
	}
	if d.Passphrase == nil {
		return fmt.Errorf("%w: key %s needs a passphrase and the Decryptor has no Passphrase function", ErrLocked, pk.Fingerprint())
	}
	pass, err := d.Passphrase(pk.Fingerprint())
	if err != nil {
		return fmt.Errorf("openpgp: passphrase for key %s: %w", pk.Fingerprint(), err)
	}
	return pk.Unlock(pass)
}

// plaintext is the decrypted content of the encrypted data packet with a
// check of its integrity once it is read to the end.
type plaintext interface {
	io.Reader
	// finish reads to the end and checks the integrity; it returns an
	// error matching ErrIntegrity on tampering, or the read error.
	finish() error
	// fail classifies err, an error parsing the plaintext, after checking
	// the integrity.
	fail(err error) error
}

func decryptData(data packet.EncryptedDataPacket, cf packet.CipherFunction, key []byte, async bool) (plaintext, error) {
	if se, ok := data.(*packet.SymmetricallyEncrypted); ok && se.Version == 1 {
		switch cf {
		case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
			if len(key) != cf.KeySize() {
				return nil, fmt.Errorf("%w: session key length does not match its cipher", ErrIntegrity)
			}
			b, err := aes.NewCipher(key)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
			}
			return newMDCReader(se.Contents, newCFB(b), async), nil
		}
	}
	// Other ciphers, SEIPD v2 and AEAD packets: go-crypto's readers.
	rc, err := data.Decrypt(cf, key)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the message is truncated", ErrIntegrity)
		}
		var ue pgperrors.UnsupportedError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%w: %s", ErrUnsupported, string(ue))
		}
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	return &genericPlain{rc: rc}, nil
}

// reader is what Decrypt returns: the literal data, with the integrity
// check at its end.
type reader struct {
	body  io.Reader
	plain plaintext
	err   error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.body.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if ferr := r.plain.finish(); ferr != nil {
			r.err = ferr
			return n, ferr
		}
		r.err = io.EOF
		return n, io.EOF
	default:
		r.err = r.plain.fail(err)
		return n, r.err
	}
}

// mdcReader decrypts an SEIPD v1 body and checks its MDC. The last 22
// plaintext bytes seen so far may be the MDC packet, so they are held back
// until the end of the input shows whether they are.
type mdcReader struct {
	src     io.Reader
	cfb     *cfb
	h       hash.Hash
	cbuf    []byte // ciphertext read from src
	pbuf    []byte // plaintext, one of bufs; pbuf[r:w] not yet returned
	bufs    [2][]byte
	cur     int
	async   bool          // hash on another goroutine
	hashing chan struct{} // closed when the running hash is done
	r, w    int
	hashed  int  // pbuf[r:hashed] is hashed already
	skip    int  // prefix bytes still to drop
	eof     bool // src is at its end
	err     error
	done    bool // MDC checked and good
}

const mdcLen = 22 // MDC packet: tag, length, SHA-1

func newMDCReader(src io.Reader, c *cfb, async bool) *mdcReader {
	const size = 256<<10 + mdcLen
	m := &mdcReader{src: src, cfb: c, h: sha1.New(), skip: 16 + 2, async: async, cbuf: make([]byte, size)}
	m.bufs[0], m.bufs[1] = make([]byte, size), make([]byte, size)
	m.pbuf = m.bufs[0]
	return m
}

// avail is how many plaintext bytes may be returned.
func (m *mdcReader) avail() int { return max(0, m.w-m.r-mdcLen) }

func (m *mdcReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for m.avail() == 0 {
		if m.err != nil {
			return 0, m.err
		}
		if m.eof {
			m.check()
			if m.err == nil {
				m.err = io.EOF
			}
			return 0, m.err
		}
		m.fill()
	}
	if m.skip > 0 {
		// The random prefix is hashed but is not data.
		n := min(m.skip, m.avail())
		m.r += n
		m.skip -= n
		return m.Read(p)
	}
	n := copy(p, m.pbuf[m.r:m.r+m.avail()])
	m.r += n
	return n, nil
}

// fill reads and decrypts more of src, hashing what is certainly data.
// Plaintext alternates between two buffers so that, with async set, the
// hash of one runs on another goroutine while the next is read and
// decrypted, and while the caller consumes it.
func (m *mdcReader) fill() {
	old := m.pbuf
	m.cur ^= 1
	m.pbuf = m.bufs[m.cur]
	m.w = copy(m.pbuf, old[m.r:m.w])
	m.hashed -= m.r
	m.r = 0
	n, err := io.ReadAtLeast(m.src, m.cbuf[:len(m.pbuf)-m.w], 1)
	m.cfb.decrypt(m.pbuf[m.w:m.w+n], m.cbuf[:n])
	m.w += n
	m.wait() // the previous hash, of old, is complete
	if end := m.w - mdcLen; end > m.hashed {
		p := m.pbuf[m.hashed:end]
		m.hashed = end
		if m.async && len(p) >= 64<<10 {
			done := make(chan struct{})
			m.hashing = done
			go func() {
				m.h.Write(p)
				close(done)
			}()
		} else {
			m.h.Write(p)
		}
	}
	switch {
	case err == io.EOF:
		m.eof = true
	case errors.Is(err, io.ErrUnexpectedEOF):
		m.err = fmt.Errorf("%w: the message is truncated", ErrIntegrity)
	case err != nil:
		m.err = err
	}
}

// wait waits for the hash running on another goroutine, if any.
func (m *mdcReader) wait() {
	if m.hashing != nil {
		<-m.hashing
		m.hashing = nil
	}
}

// check verifies the MDC once src is at its end.
func (m *mdcReader) check() {
	if m.done {
		return
	}
	m.wait()
	if m.w-m.r < mdcLen {
		m.err = fmt.Errorf("%w: the message is truncated", ErrIntegrity)
		return
	}
	t := m.pbuf[m.w-mdcLen : m.w]
	m.h.Write(t[:2])
	sum := m.h.Sum(nil)
	if t[0] != 0xD3 || t[1] != 0x14 || subtle.ConstantTimeCompare(sum, t[2:]) != 1 {
		m.err = fmt.Errorf("%w: modification detection code mismatch (the message was altered or cut short)", ErrIntegrity)
		return
	}
	m.done = true
}

func (m *mdcReader) finish() error {
	if _, err := io.Copy(io.Discard, m); err != nil {
		return err
	}
	return nil
}

func (m *mdcReader) fail(perr error) error {
	if err := m.finish(); err != nil {
		return err
	}
	return fmt.Errorf("%w: the decrypted data does not parse: %s", ErrUnsupported, perr)
}

// genericPlain adapts go-crypto's decrypting readers, whose MDC check (for
// SEIPD v1) happens on Close; AEAD readers report tampering from Read.
type genericPlain struct {
	rc  io.ReadCloser
	err error
}

func (g *genericPlain) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.rc.Read(p)
	if err == io.EOF {
		if cerr := g.rc.Close(); cerr != nil {
			g.err = fmt.Errorf("%w: %v", ErrIntegrity, cerr)
			return n, g.err
		}
		g.err = io.EOF
		return n, io.EOF
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			g.err = fmt.Errorf("%w: the message is truncated", ErrIntegrity)
		} else if isPGPError(err) {
			g.err = fmt.Errorf("%w: %v", ErrIntegrity, err)
		} else {
			g.err = err
		}
		return n, g.err
	}
	return n, nil
}

func (g *genericPlain) finish() error {
	_, err := io.Copy(io.Discard, g)
	return err
}

func (g *genericPlain) fail(perr error) error {
	if err := g.finish(); err != nil {
		return err
	}
	return fmt.Errorf("%w: the decrypted data does not parse: %s", ErrUnsupported, perr)
}

// isPGPError reports whether err comes from go-crypto's parsing or checks
// rather than from the underlying reader.
func isPGPError(err error) bool {
	var (
		se  pgperrors.StructuralError
		ue  pgperrors.UnsupportedError
		ie  pgperrors.InvalidArgumentError
		sge pgperrors.SignatureError
		de  pgperrors.DecryptWithSessionKeyError
		ke  pgperrors.KeyInvalidError
		we  pgperrors.WeakAlgorithmError
		pe  pgperrors.UnknownPacketTypeError
	)
	return errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &ie) || errors.As(err, &sge) ||
		errors.As(err, &de) || errors.As(err, &ke) || errors.As(err, &we) || errors.As(err, &pe)
}
