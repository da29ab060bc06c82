package backup

import "io"

// Encryptor encrypts a stream to one or more recipients. It needs only public
// keys: the host that makes backups never holds a key that can read them.
// backup/openpgp provides the implementation.
type Encryptor interface {
	// Encrypt returns a writer whose plaintext is encrypted to dst as one
	// complete message; Close finishes the message (it does not close dst).
	// Memory use is bounded whatever the amount written.
	Encrypt(dst io.Writer) (io.WriteCloser, error)
	// Recipients returns the fingerprints (upper-case hex) of the keys that
	// can decrypt, in a stable order. They are recorded in the manifest.
	Recipients() []string
}

// Decryptor decrypts what an Encryptor made, with private keys.
type Decryptor interface {
	// Decrypt returns the plaintext of one message read from src. The
	// message's integrity check (OpenPGP MDC) can only be confirmed at the
	// end, so a reader that returns io.EOF has verified it; any tampering is
	// reported as a non-EOF error by Read, at the latest at the end.
	Decrypt(src io.Reader) (io.Reader, error)
}

// Signer makes detached signatures over manifests, with the daemon's own
// signing key, so that a backup node cannot forge or alter a backup.
type Signer interface {
	// Sign returns an ASCII-armored detached signature of msg that
	// `gpg --verify sig msg` accepts.
	Sign(msg []byte) ([]byte, error)
	// Fingerprint returns the signing key's fingerprint (upper-case hex).
	Fingerprint() string
}

// Verifier checks detached signatures made by a Signer.
type Verifier interface {
	// Verify checks sig over msg against the trusted keys and returns the
	// fingerprint of the primary key that made it. A bad or unknown
	// signature is an error.
	Verify(msg, sig []byte) (fingerprint string, err error)
}
