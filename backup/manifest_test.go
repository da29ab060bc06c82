package backup

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validManifest() *Manifest {
	created := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	return &Manifest{
		Format: ManifestFormat, Version: ManifestVersion, ID: "20261122T010203Z-a1b2c3", Instance: "demo",
		Created: created, Completed: created.Add(time.Minute), Tool: "test", Source: "dir",
		Compression: "zstd", Encryption: "openpgp", Hash: "sha256",
		Recipients: []string{strings.Repeat("AB", 20)}, Signer: strings.Repeat("CD", 20),
		PlainSize: 10, StoredSize: 5,
		Volumes: []Volume{{Name: "demo/data/20261122T010203Z-a1b2c3/vol-000001.zst.pgp", Size: 5, SHA256: strings.Repeat("0", 64)}},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := validManifest()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || len(got.Volumes) != 1 || got.Volumes[0] != m.Volumes[0] || !got.Created.Equal(m.Created) {
		t.Fatalf("round trip changed the manifest: %+v", got)
	}
}

func TestManifestRejects(t *testing.T) {
	cases := map[string]func(m *Manifest){
		"newer version":        func(m *Manifest) { m.Version = 2 },
		"volume outside":       func(m *Manifest) { m.Volumes[0].Name = "other/data/x/vol-000001.zst.pgp" },
		"traversal":            func(m *Manifest) { m.Volumes[0].Name = "demo/data/20261122T010203Z-a1b2c3/../../../etc" },
		"bad hash":             func(m *Manifest) { m.Volumes[0].SHA256 = "xyz" },
		"size mismatch":        func(m *Manifest) { m.StoredSize = 6 },
		"no volumes":           func(m *Manifest) { m.Volumes = nil; m.StoredSize = 0 },
		"bad instance":         func(m *Manifest) { m.Instance = "../x" },
		"bad id":               func(m *Manifest) { m.ID = "yesterday" },
		"bad recipient":        func(m *Manifest) { m.Recipients = []string{"nope"} },
		"completed before":     func(m *Manifest) { m.Completed = m.Created.Add(-time.Second) },
		"unknown compression":  func(m *Manifest) { m.Compression = "lz4" },
		"duplicate volume":     func(m *Manifest) { m.Volumes = append(m.Volumes, m.Volumes[0]); m.StoredSize = 10 },
		"negative volume size": func(m *Manifest) { m.Volumes[0].Size = -1; m.StoredSize = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := validManifest()
			mutate(m)
			if _, err := m.Marshal(); err == nil {
				t.Fatal("Marshal accepted an invalid manifest")
			}
			// Bypass Marshal's validation to test the parser on the same content.
			raw := mustJSON(t, m)
			_, err := ParseManifest(raw)
			if err == nil {
				t.Fatal("ParseManifest accepted an invalid manifest")
			}
			if name == "newer version" && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("err = %v, want ErrUnsupportedVersion", err)
			}
		})
	}
	if _, err := ParseManifest([]byte(`{"format":"opskit-backup-manifest","version":1,"extra":1}`)); !errors.Is(err, ErrManifest) {
		t.Fatalf("unknown field: err = %v", err)
	}
	data, _ := validManifest().Marshal()
	if _, err := ParseManifest(append(data, []byte(`{}`)...)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func FuzzParseManifest(f *testing.F) {
	data, _ := validManifest().Marshal()
	f.Add(data)
	f.Add([]byte(`{"format":"opskit-backup-manifest","version":99}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		// Whatever parses must be valid and re-encode to something that parses the same.
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed manifest does not marshal: %v", err)
		}
		m2, err := ParseManifest(again)
		if err != nil || m2.ID != m.ID || len(m2.Volumes) != len(m.Volumes) {
			t.Fatalf("re-parse: %v", err)
		}
		for _, v := range m.Volumes {
			if !strings.HasPrefix(v.Name, m.Instance+"/data/"+m.ID+"/") || strings.Contains(v.Name, "..") {
				t.Fatalf("volume name %q escapes its backup", v.Name)
			}
		}
	})
}
