package backup_test

import (
	"testing"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/local"
	"github.com/opskit/opskit/backup/openpgp"
)

type testKeys struct {
	instance  *openpgp.PrivateKey
	daemon    *openpgp.PrivateKey
	encryptor backup.Encryptor
	decryptor backup.Decryptor
	signer    backup.Signer
	verifier  backup.Verifier
}

// newTestKeys makes an instance key pair and a daemon signing key.
func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	inst, err := openpgp.GenerateKey(openpgp.KeyOptions{Name: "test instance"})
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := openpgp.GenerateKey(openpgp.KeyOptions{Name: "test daemon"})
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys{instance: inst, daemon: daemon}
	if k.encryptor, err = openpgp.NewEncryptor(inst.Public()); err != nil {
		t.Fatal(err)
	}
	if k.decryptor, err = openpgp.NewDecryptor(inst); err != nil {
		t.Fatal(err)
	}
	if k.signer, err = openpgp.NewSigner(daemon); err != nil {
		t.Fatal(err)
	}
	if k.verifier, err = openpgp.NewVerifier(daemon.Public()); err != nil {
		t.Fatal(err)
	}
	return k
}

func newTransport(t testing.TB) backup.Transport {
	t.Helper()
	tr, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func openpgpEncryptor(ks ...testKeys) (*openpgp.Encryptor, error) {
	var pubs []*openpgp.PublicKey
	for _, k := range ks {
		pubs = append(pubs, k.instance.Public())
	}
	return openpgp.NewEncryptor(pubs...)
}

func openpgpDecryptor(ks ...testKeys) (*openpgp.Decryptor, error) {
	var privs []*openpgp.PrivateKey
	for _, k := range ks {
		privs = append(privs, k.instance)
	}
	return openpgp.NewDecryptor(privs...)
}
