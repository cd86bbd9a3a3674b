package fakebill

import (
	"errors"
	"net/http"
	"slices"

	"github.com/fakebill/toolkit/internal/session"
)

// loginFields are Login's required fields after devKey, in the order their
// absence is reported.
var loginFields = []string{"userName", "password", "orgId"}

// login runs steps 3 to 6 of Login.json.
func (s *Server) login(x *exchange) {
	n, ok := s.loginAccount(x)
	if !ok {
		return
	}
	acct := s.account(n)
	if s.opts.SingleSession {
		s.sessions.EndAccount(n)
	}
	id, label, err := s.sessions.Create(n, x.now)
	if err != nil {
		if errors.Is(err, session.ErrFull) {
			x.entry.Note = "session cap reached: live sessions at max-sessions"
		}
		s.fail(x, http.StatusOK, CodeSystemError, "")
		return
	}
	s.logins.Add(1)
	x.entry.Session = sessionLabel(label)
	x.entry.SessionState = SessionLive
	http.SetCookie(x.w, &http.Cookie{
		Name: "sid", Value: id, Path: "/", HttpOnly: true,
		Secure: x.r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	s.succeed(x, loginAnswer{
		SessionID:   id,
		OrgID:       acct.OrgID,
		APIEndPoint: s.endpoint(x.r),
		UsersID:     acct.UsersID,
	})
}

// loginAccount checks Login's credentials in the service's order and
// returns the account they name, or answers the first failure.
func (s *Server) loginAccount(x *exchange) (int, bool) {
	devKey, ok := s.checkDevKey(x)
	if !ok {
		return 0, false
	}
	for _, f := range loginFields {
		if x.form.value(f) == "" {
			s.failParam(x, CodeMissingParameter, f)
			return 0, false
		}
	}
	userName, password, orgID := x.form.value("userName"), x.form.value("password"), x.form.value("orgId")
	if !s.knownOrg(orgID) && !wellFormedOrg(orgID) {
		s.failParam(x, CodeInvalidParameter, "orgId", s.safeEcho(orgID))
		return 0, false
	}
	mine := s.userAccounts(userName, password)
	if len(mine) == 0 {
		s.fail(x, http.StatusOK, CodeBadCredentials, "")
		return 0, false
	}
	i := slices.IndexFunc(mine, func(n int) bool { return s.accounts[n-1].OrgID == orgID })
	if i < 0 {
		s.fail(x, http.StatusOK, CodeInvalidOrg, "")
		return 0, false
	}
	n := mine[i]
	x.entry.Account = s.accountLabel(n)
	if devKey != s.account(n).DevKey {
		s.fail(x, http.StatusOK, CodeBadDevKey, "")
		return 0, false
	}
	return n, true
}

type loginAnswer struct {
	SessionID   string `json:"sessionId"`
	OrgID       string `json:"orgId"`
	APIEndPoint string `json:"apiEndPoint"`
	UsersID     string `json:"usersId"`
}

type orgAnswer struct {
	OrgID   string `json:"orgId"`
	OrgName string `json:"orgName"`
}

// listOrgs runs steps 3 to 6 of ListOrgs.json: the organizations of the
// user that the devKey may reach.
func (s *Server) listOrgs(x *exchange) {
	devKey, ok := s.checkDevKey(x)
	if !ok {
		return
	}
	for _, f := range loginFields[:2] {
		if x.form.value(f) == "" {
			s.failParam(x, CodeMissingParameter, f)
			return
		}
	}
	mine := s.userAccounts(x.form.value("userName"), x.form.value("password"))
	if len(mine) == 0 {
		s.fail(x, http.StatusOK, CodeBadCredentials, "")
		return
	}
	x.entry.Account = s.accountLabel(mine[0])
	orgs := []orgAnswer{}
	for _, n := range mine {
		if a := s.account(n); a.DevKey == devKey {
			orgs = append(orgs, orgAnswer{a.OrgID, a.OrgName})
		}
	}
	if len(orgs) == 0 {
		s.fail(x, http.StatusOK, CodeBadDevKey, "")
		return
	}
	s.succeed(x, orgs)
}

// checkDevKey is step 3 for Login and ListOrgs.
func (s *Server) checkDevKey(x *exchange) (string, bool) {
	devKey := x.form.value("devKey")
	if devKey == "" {
		s.fail(x, http.StatusOK, CodeDevKeyMissing, "")
		return "", false
	}
	if !s.devKeys[devKey] {
		s.fail(x, http.StatusOK, CodeBadDevKey, "")
		return "", false
	}
	return devKey, true
}

// userAccounts returns the numbers of the accounts with this userName and
// password.
func (s *Server) userAccounts(userName, password string) []int {
	var out []int
	for _, n := range s.byUser[userName] {
		if s.accounts[n-1].Password == password {
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) knownOrg(orgID string) bool {
	for _, a := range s.accounts {
		if a.OrgID == orgID {
			return true
		}
	}
	return false
}

// wellFormedOrg reports whether id has the shape of a Bill.com
// organization id: "008" and 17 more letters or digits.
func wellFormedOrg(id string) bool {
	if len(id) != 20 || id[:3] != "008" {
		return false
	}
	for i := 3; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// safeEcho makes a client-sent value fit to quote in an error message:
// secrets redacted, length capped.
func (s *Server) safeEcho(v string) string {
	v = s.detector.Redact(v)
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return v
}

// endpoint is the v2 base URL as the client reached it, or PublicURL.
func (s *Server) endpoint(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.prefix
}
