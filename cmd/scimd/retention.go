package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/licensing"
)

// purgeInterval is how often serve purges what retention no longer keeps.
const purgeInterval = time.Minute

// purgeBatch is the most rows one purge statement deletes (and so locks).
const purgeBatch = 1000

// retention is the policy of the configuration's --retain-* flags.
func retention(cfg config.Config) licensing.Retention {
	return licensing.Retention{Sessions: cfg.RetainSessions, SeatEvents: cfg.RetainSeatEvents, Audit: cfg.RetainAudit}
}

// purger is what purge needs of the store.
type purger interface {
	licensing.Purger
	licensing.UsageRollups
}

// purge sums up the hours of seat events that are old enough
// (licensing.SealUsage) and deletes what r no longer keeps, at start,
// then every interval, until ctx ends, telling ran of each run. Every
// replica runs it; the store keeps replicas purging at once from waiting
// on each other, and sealing at once from doing it twice.
func purge(ctx context.Context, store purger, r licensing.Retention, clock licensing.Clock, interval time.Duration,
	log *slog.Logger, ran func(purged map[licensing.PurgeKind]int, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, sealErr := licensing.SealUsage(ctx, store, clock.Now())
		purged, err := licensing.Purge(ctx, store, r, clock, purgeBatch)
		err = errors.Join(sealErr, err)
		if ctx.Err() != nil {
			return
		}
		ran(purged, err)
		logRunError(log, "purging what retention no longer keeps", err)
		var attrs []any
		for _, k := range licensing.PurgeKinds {
			if purged[k] > 0 {
				attrs = append(attrs, string(k), purged[k])
			}
		}
		if len(attrs) > 0 {
			log.Info("purged rows past their retention", attrs...)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// warnAboutDatabase logs, at start, what the database's settings put at
// risk (autovacuum off on PostgreSQL).
func warnAboutDatabase(ctx context.Context, store interface {
	Warnings(context.Context) ([]string, error)
}, log *slog.Logger) {
	warnings, err := store.Warnings(ctx)
	if err != nil {
		log.Warn("could not read the database's settings", "err", err)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
}
