package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/openpgp"
)

// generateKey writes BASE.pub.asc and BASE.sec.asc (0600).
func generateKey(base, name string, signing bool) error {
	k, err := openpgp.GenerateKey(openpgp.KeyOptions{Name: name})
	if err != nil {
		return err
	}
	if err := openpgp.WritePrivateKeyFile(base+".sec.asc", k, nil); err != nil {
		return err
	}
	return openpgp.WritePublicKeyFile(base+".pub.asc", k.Public())
}

func passphrase(env string) ([]byte, error) {
	if env == "" {
		return nil, errors.New("the key is passphrase-protected: set passphrase_env in the configuration")
	}
	p, ok := os.LookupEnv(env)
	if !ok {
		return nil, fmt.Errorf("the key is passphrase-protected and $%s is not set", env)
	}
	return []byte(p), nil
}

func loadEncryptor(paths []string) (backup.Encryptor, error) {
	var keys []*openpgp.PublicKey
	for _, p := range paths {
		ks, err := openpgp.ReadPublicKeyFile(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	return openpgp.NewEncryptor(keys...)
}

func loadDecryptor(path, passEnv string) (backup.Decryptor, error) {
	keys, err := openpgp.ReadPrivateKeyFile(path)
	if err != nil {
		return nil, err
	}
	d, err := openpgp.NewDecryptor(keys...)
	if err != nil {
		return nil, err
	}
	d.Passphrase = func(string) ([]byte, error) { return passphrase(passEnv) }
	return d, nil
}

func loadSigner(path, passEnv string) (backup.Signer, error) {
	keys, err := openpgp.ReadPrivateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("%s: want one signing key, found %d", path, len(keys))
	}
	if keys[0].Locked() {
		p, err := passphrase(passEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := keys[0].Unlock(p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return openpgp.NewSigner(keys[0])
}

func loadVerifier(path string) (backup.Verifier, error) {
	keys, err := openpgp.ReadPublicKeyFile(path)
	if err != nil {
		return nil, err
	}
	return openpgp.NewVerifier(keys...)
}
