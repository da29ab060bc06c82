package openpgp_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/opskit/opskit/backup/openpgp"
)

// Generate an instance key, encrypt to its public part, decrypt with the
// private key, and sign and verify a manifest.
func Example() {
	key, err := openpgp.GenerateKey(openpgp.KeyOptions{Name: "opskit instance demo", Email: "demo@example.com"})
	if err != nil {
		log.Fatal(err)
	}

	// The backup host holds only the public key.
	enc, err := openpgp.NewEncryptor(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	var vol bytes.Buffer
	w, err := enc.Encrypt(&vol)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "zstd-compressed tar stream\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	// Whoever restores holds the private key.
	dec, err := openpgp.NewDecryptor(key)
	if err != nil {
		log.Fatal(err)
	}
	r, err := dec.Decrypt(&vol)
	if err != nil {
		log.Fatal(err)
	}
	plain, err := io.ReadAll(r) // io.EOF only once the integrity check passed
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))

	// Manifests are signed with the daemon's key.
	signer, err := openpgp.NewSigner(key)
	if err != nil {
		log.Fatal(err)
	}
	sig, err := signer.Sign([]byte(`{"version":1}`))
	if err != nil {
		log.Fatal(err)
	}
	ver, err := openpgp.NewVerifier(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	fpr, err := ver.Verify([]byte(`{"version":1}`), sig)
	fmt.Println(fpr == key.Fingerprint(), err, len(enc.Recipients()))
	// Output:
	// zstd-compressed tar stream
	// true <nil> 1
}

// Write a new key pair to files, as `opsd init` does, and read it back.
func ExampleWritePrivateKeyFile() {
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	key, err := openpgp.GenerateKey(openpgp.KeyOptions{Name: "opsd signing key"})
	if err != nil {
		log.Fatal(err)
	}
	if err := openpgp.WritePublicKeyFile(dir+"/opsd.pub.asc", key.Public()); err != nil {
		log.Fatal(err)
	}
	if err := openpgp.WritePrivateKeyFile(dir+"/opsd.sec.asc", key, []byte("passphrase")); err != nil {
		log.Fatal(err)
	}
	keys, err := openpgp.ReadPrivateKeyFile(dir + "/opsd.sec.asc")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys[0].Fingerprint() == key.Fingerprint(), keys[0].Locked())
	fmt.Println(keys[0].Unlock([]byte("passphrase")), keys[0].Locked())
	// Overwriting is refused.
	fmt.Println(openpgp.WritePrivateKeyFile(dir+"/opsd.sec.asc", key, nil) != nil)
	// Output:
	// true true
	// <nil> false
	// true
}
