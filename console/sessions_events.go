package console

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
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
func (h *Handler) sessionsEvents(c echo.Context) error {
	productID := c.QueryParam("product")
	if _, ok := h.opts.Catalog.Product(productID); !ok {
		return h.errorPage(c, http.StatusNotFound, "There is no such product in the catalog.")
	}
	ctx := c.Request().Context()
	account := person(c).AccountID
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
