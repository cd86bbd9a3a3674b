package fakebill

import "testing"

func TestKeyName(t *testing.T) {
	tests := []struct{ key, want string }{
		{"sessionId", "sessionid"},
		{"Session-Id", "sessionid"},
		{"session_id", "sessionid"},
		{"sessionid[]", "sessionid"},
		{"SESSIONID", "sessionid"},
		{"sid", "sid"},
		{"S.I.D", "sid"},
		{"userName", "username"},
		{"USER_NAME", "username"},
		{"password", "password"},
		{"Pass-Word", "password"},
		{"sessionIdx", ""},
		{"sort", ""},
		{"pass", ""},
		{"Content-Type", ""},
		{"devKey", ""},
		{"", ""},
		{"x-" + string(make([]byte, 200)), ""},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"s\xffi\xfed", "sid"},
	}
	for _, tt := range tests {
		if got := keyName(tt.key); got != tt.want {
			t.Errorf("keyName(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { keyName("Session-Id") }); n != 0 {
		t.Errorf("keyName allocates %v times, want 0", n)
	}
}
