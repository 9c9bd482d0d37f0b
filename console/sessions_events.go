package console

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// eventsPoll is how often a shared sessions page's event stream reads the
// database: every replica's starts and ends land there, so a page learns
// of any of them within this time, whichever replica serves it.
const eventsPoll = time.Second

// seatsVersion digests the product's shared seats and waiting count as the
// page shows them: it changes when an agent starts or ends a session,
// connects, heartbeats, or joins or leaves the line.
func (h *Handler) seatsVersion(ctx context.Context, accountID, productID string) (string, error) {
	open, err := h.opts.Store.OpenSessions(ctx, accountID, productID)
	if err != nil {
		return "", err
	}
	waiting, err := h.opts.Store.Waiting(ctx, accountID, productID, h.opts.Clock.Now())
	if err != nil {
		return "", err
	}
	return versionOf(licensing.SharedSessions(open), waiting), nil
}

func versionOf(seats []licensing.SharedSession, waiting int) string {
	d := fnv.New64a()
	fmt.Fprintf(d, "%d;", waiting)
	for _, s := range seats {
		fmt.Fprintf(d, "%s %s %d %d;", s.ID(), s.State, s.LastHeartbeat.Unix(), s.Sessions)
	}
	return fmt.Sprintf("%016x", d.Sum64())
}

// sessionsEvents streams Server-Sent Events to a shared sessions page: a
// "seats" event whenever the product's shared seats differ from the
// version v the page shows, at once if they already do. The page then
// fetches itself again. The stream ends with the request's deadline; the
// browser reconnects with the version it then shows.
//
// Each poll also reads the person's console session (without using it,
// so that an open page does not keep it from going idle): once it has
// ended (sign-out, the person deactivated, deleted or stripped of a
// privilege, over SCIM, the API or the console) or no longer opens the
// page, an "ended" event closes the stream, and the page goes to sign-in.
func (h *Handler) sessionsEvents(c echo.Context) error {
	productID := c.QueryParam("product")
	if _, ok := h.opts.Catalog.Product(productID); !ok {
		return h.errorPage(c, http.StatusNotFound, "There is no such product in the catalog.")
	}
	ctx := c.Request().Context()
	account := person(c).AccountID
	id, _ := c.Get(sessionKey).(string)
	hash := licensing.HashToken(id)
	shown := c.QueryParam("v")
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.WriteHeader(http.StatusOK)
	// retry: reconnect at once when the stream ends.
	fmt.Fprint(w, "retry: 500\n\n")
	w.Flush()
	tick := time.NewTicker(eventsPoll)
	defer tick.Stop()
	for {
		if !h.stillOpens(ctx, hash, pageAt(Path+"/sessions")) {
			fmt.Fprint(w, endedEvent)
			w.Flush()
			return nil
		}
		v, err := h.seatsVersion(ctx, account, productID)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && v != shown {
			shown = v
			fmt.Fprintf(w, "event: seats\ndata: %s\n\n", v)
			w.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// stillOpens tells whether the console session with the hash is live now
// and its person may open the page. It reads the session without using
// it. A database that cannot answer leaves the stream open: the next
// poll asks again.
func (h *Handler) stillOpens(ctx context.Context, hash []byte, pg page) bool {
	now := h.opts.Clock.Now()
	s, err := h.opts.Store.ConsoleSession(ctx, hash, now, now.Add(-licensing.ConsoleIdle))
	switch {
	case errors.Is(err, licensing.ErrNotFound):
		return false
	case err != nil:
		return true
	}
	return licensing.ConsolePrincipal(s).Has(pg.Privileges...)
}

// endedEvent tells a page that its console session has ended.
const endedEvent = "event: ended\ndata: signin\n\n"

// eventStream tells that the request is an EventSource's.
func eventStream(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream")
}

// endedStream answers an event stream whose console session has ended
// (or never was) with endedEvent alone.
func endedStream(c echo.Context) error {
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := fmt.Fprint(w, endedEvent)
	return err
}
