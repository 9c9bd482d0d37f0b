package agent

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

type startRequest struct {
	Product  string `json:"product"`
	Attended *bool  `json:"attended"`
	Platform string `json:"platform"`
	// Wait is how many seconds to wait for a shared seat (0: don't).
	Wait int `json:"wait"`
}

type sessionView struct {
	ID          string     `json:"id"`
	Product     string     `json:"product"`
	License     string     `json:"license"`
	State       string     `json:"state"`
	Attended    bool       `json:"attended"`
	Platform    string     `json:"platform"`
	CreatedAt   time.Time  `json:"createdAt"`
	ConnectedAt *time.Time `json:"connectedAt,omitempty"`
	LastSeen    time.Time  `json:"lastSeen"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	EndedAt     *time.Time `json:"endedAt,omitempty"`
	EndReason   string     `json:"endReason,omitempty"`
}

func view(s licensing.Session) sessionView {
	return sessionView{
		ID: s.ID, Product: s.ProductID, License: string(s.License), State: string(s.State),
		Attended: s.Attended, Platform: string(s.Platform), CreatedAt: s.CreatedAt, ConnectedAt: s.ConnectedAt,
		LastSeen: s.LastSeen, ExpiresAt: s.ExpiresAt, EndedAt: s.EndedAt, EndReason: string(s.EndReason),
	}
}

var platforms = map[string]licensing.Platform{
	"windows": licensing.PlatformWindows, "mac": licensing.PlatformMac,
	"ios": licensing.PlatformIOS, "android": licensing.PlatformAndroid,
}

// startSession starts a support session (issues a support key): with a
// concurrent license it claims the agent's shared seat, or answers 409
// with the vendor's sentence, after waiting up to "wait" seconds if asked.
func (h *Handler) startSession(c echo.Context) error {
	p, err := agentOf(c)
	if err != nil {
		return writeProblem(c, err)
	}
	var req startRequest
	if err := decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	platform, ok := platforms[strings.ToLower(req.Platform)]
	if !ok {
		return writeProblem(c, invalid("platform must be windows, mac, ios or android."))
	}
	maxWait := h.opts.Agents.Config().MaxWait
	if req.Wait < 0 || time.Duration(req.Wait)*time.Second > maxWait {
		return writeProblem(c, invalid("wait must be between 0 and "+maxWait.String()+" in seconds."))
	}
	if req.Product == "" {
		return writeProblem(c, invalid("product is required (a product id such as remote-support-v5)."))
	}
	attended := true
	if req.Attended != nil {
		attended = *req.Attended
	}
	s, err := h.opts.Agents.Start(c.Request().Context(), p.AccountID, p.UserID, licensing.StartRequest{
		ProductID: req.Product, Attended: attended, Platform: platform, Wait: time.Duration(req.Wait) * time.Second,
	})
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, view(s))
}

// listSessions lists the agent's open sessions.
func (h *Handler) listSessions(c echo.Context) error {
	p, err := agentOf(c)
	if err != nil {
		return writeProblem(c, err)
	}
	open, err := h.opts.Store.UserOpenSessions(c.Request().Context(), p.AccountID, p.UserID)
	if err != nil {
		return writeProblem(c, err)
	}
	mine := []sessionView{}
	for _, s := range open {
		mine = append(mine, view(s))
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": mine})
}

// getSession shows one of the agent's sessions, ended ones included.
func (h *Handler) getSession(c echo.Context) error {
	p, err := agentOf(c)
	if err != nil {
		return writeProblem(c, err)
	}
	s, err := h.opts.Store.Session(c.Request().Context(), p.AccountID, c.Param("id"))
	if err == nil && s.UserID != p.UserID {
		err = licensing.ErrNotFound
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, view(s))
}

func (h *Handler) connect(c echo.Context) error {
	return h.sessionCall(c, h.opts.Agents.Connect)
}

func (h *Handler) heartbeat(c echo.Context) error {
	return h.sessionCall(c, h.opts.Agents.Heartbeat)
}

func (h *Handler) end(c echo.Context) error {
	return h.sessionCall(c, h.opts.Agents.End)
}

// sessionCall runs one of the agent's calls on a session of their own;
// an ended session answers 410 saying why it ended.
func (h *Handler) sessionCall(c echo.Context, call func(ctx context.Context, accountID, userID, id string) (licensing.Session, error)) error {
	p, err := agentOf(c)
	if err != nil {
		return writeProblem(c, err)
	}
	s, err := call(c.Request().Context(), p.AccountID, p.UserID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, view(s))
}
