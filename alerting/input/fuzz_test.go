package input_test

import (
	"testing"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/input"
)

func checkAlerts(t *testing.T, as []alerting.Alert, err error) {
	if err != nil {
		if len(as) != 0 {
			t.Fatalf("alerts with an error: %v", err)
		}
		return
	}
	if len(as) == 0 || len(as) > input.MaxAlerts {
		t.Fatalf("%d alerts without an error", len(as))
	}
	for _, a := range as {
		if len(a.Labels) == 0 || a.StartsAt.IsZero() {
			t.Fatalf("alert without labels or start: %+v", a)
		}
		switch a.Severity {
		case alerting.Info, alerting.Warning, alerting.Critical:
		default:
			t.Fatalf("severity %q", a.Severity)
		}
		_ = a.Fingerprint()
	}
}

func FuzzParseAlertmanager(f *testing.F) {
	f.Add([]byte(amBody))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"X"}}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"labels":{"a":"b"},"startsAt":"bad"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := input.ParseAlertmanager(b, now)
		checkAlerts(t, as, err)
	})
}

func FuzzParseFalco(f *testing.F) {
	f.Add([]byte(falcoBody))
	f.Add([]byte(`{"rule":"r","priority":"info","output_fields":{"a":null,"b":[1,2],"c":{"d":true}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := input.ParseFalco(b, now, []string{"k8s.ns.name", "b"})
		checkAlerts(t, as, err)
		for _, a := range as {
			if a.Name() == "" {
				t.Fatal("falco alert without name")
			}
		}
	})
}

func FuzzParseOSSEC(f *testing.F) {
	f.Add([]byte(wazuhLine))
	f.Add([]byte(ossecLine))
	f.Add([]byte(wazuhLine + "\n" + ossecLine))
	f.Add([]byte(`{"rule":{"level":1,"id":1e400}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := input.ParseOSSEC(b, now)
		checkAlerts(t, as, err)
		for _, a := range as {
			if a.Name() == "" {
				t.Fatal("ossec alert without name")
			}
		}
	})
}
