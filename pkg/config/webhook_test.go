package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardsec/ward/pkg/rules"
)

func TestWebhookSection(t *testing.T) {
	reg, err := rules.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		yaml        string
		wantTimeout time.Duration
		wantOn      OnTimeout
		wantErr     string
	}{
		{name: "defaults", yaml: "", wantTimeout: DefaultEvaluationTimeout, wantOn: OnTimeoutDeny},
		{name: "set", yaml: "webhook: {evaluationTimeout: 1500ms, onTimeout: allow}", wantTimeout: 1500 * time.Millisecond, wantOn: OnTimeoutAllow},
		{name: "bad action", yaml: "webhook: {onTimeout: maybe}", wantErr: `onTimeout "maybe"`},
		{name: "too long", yaml: "webhook: {evaluationTimeout: 30s}", wantErr: "evaluationTimeout 30s"},
		{name: "negative", yaml: "webhook: {evaluationTimeout: -1s}", wantErr: "evaluationTimeout -1s"},
		{name: "not a duration", yaml: "webhook: {evaluationTimeout: soon}", wantErr: ".ward.yaml:1"},
		{name: "unknown field", yaml: "webhook: {timeout: 3s}", wantErr: "field timeout not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			var s *Settings
			if err == nil {
				s, err = f.Resolve(reg, Flags{})
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Webhook.EvaluationTimeout != tc.wantTimeout || s.Webhook.OnTimeout != tc.wantOn {
				t.Errorf("got %+v, want %s %s", s.Webhook, tc.wantTimeout, tc.wantOn)
			}
		})
	}
}
