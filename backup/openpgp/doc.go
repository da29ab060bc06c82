// Package openpgp encrypts backups to OpenPGP public keys and signs their
// manifests, on github.com/ProtonMail/go-crypto, in the formats stock
// GnuPG 2.2 reads: a backup volume made here is restorable with
//
//	gpg --decrypt vol | zstd -d | tar -x
//
// and a manifest signature verifies with `gpg --verify manifest.json.asc
// manifest.json`.
//
// It implements the interfaces of package backup:
//
//   - [Encryptor] ([backup.Encryptor]) encrypts a stream to one or more
//     public keys, typically an instance's own key plus an escrow key. It
//     needs no private key, so the host that makes backups cannot read them.
//   - [Decryptor] ([backup.Decryptor]) decrypts with a set of private keys,
//     several for key rotation, optionally passphrase-protected. It also
//     reads what `gpg --encrypt` makes with its defaults.
//   - [Signer] and [Verifier] ([backup.Signer], [backup.Verifier]) make and
//     check detached, ASCII-armored signatures (SHA-512; verification
//     requires SHA-256 or better).
//
// Keys are v4 OpenPGP keys. [GenerateKey] makes an Ed25519 primary key
// (certify, sign) with a Curve25519 ECDH encryption subkey, which GnuPG 2.2
// imports; [ReadPublicKeyFile] and [ReadPrivateKeyFile] read armored or
// binary keys, including `gpg --export-secret-keys` output protected by a
// passphrase; [WritePublicKeyFile] and [WritePrivateKeyFile] write armored
// keys to new files only (the private one with mode 0600).
//
// # Message format
//
// Encrypt writes one public-key encrypted session key packet per recipient,
// then one symmetrically encrypted integrity-protected data packet (SEIPD
// version 1: AES-256 in OpenPGP CFB mode with the SHA-1 modification
// detection code, MDC), holding one binary literal data packet. There is no
// AEAD (GnuPG 2.2 does not read RFC 9580 SEIPD v2) and no OpenPGP
// compression (the data is zstd already). Both packets use 1 MiB partial
// body chunks, so memory is constant (about 2 MiB per message) whatever the
// size.
//
// # Integrity
//
// The MDC covers the whole message and can only be checked at its end. The
// reader returned by Decrypt therefore returns io.EOF only after the check
// passed; a flipped bit, a truncation or a swapped chunk is reported by Read
// as an error matching [ErrIntegrity], at the latest instead of io.EOF. Data
// read before that error must not be trusted: restore into a scratch place
// and commit only after io.EOF.
//
// Errors callers branch on: [ErrNoKey] (a [*NoKeyError] with the key IDs the
// message is for), [ErrWrongPassphrase], [ErrLocked], [ErrIntegrity],
// [ErrMalformed], [ErrUnsupported]; [ErrUnusableKey] (a [*KeyError]) for a
// recipient or signing key that is expired, revoked or lacks the needed
// capability; [ErrBadSignature] and [ErrUnknownSigner] from Verify.
//
// # Speed
//
// go-crypto's own SEIPD writer and reader run its CFB mode a byte at a time
// through an interface. This package writes and reads the SEIPD v1 packet
// itself with a block-at-a-time CFB (decryption runs its block cipher calls
// independently, which the CPU pipelines) and large chunks, and computes
// the SHA-1 MDC on a second goroutine, overlapping it with encryption (set
// Sequential to turn that off). go-crypto still parses every packet,
// encrypts and decrypts session keys, and reads any message that is not
// SEIPD v1 with AES (other ciphers, AEAD). See BenchmarkEncrypt and
// BenchmarkDecrypt.
//
// What this package does not do: ASCII-armored messages (dearmor first:
// backups are binary), passphrase-only (symmetric) messages, v6 keys, or
// checking signatures inside encrypted messages.
package openpgp
