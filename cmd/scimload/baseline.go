package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/scimd/scimd/licensing"
)

// BaselineReport is the raw-SQL run of provision --baseline-sql and its
// comparison with the HTTP run.
type BaselineReport struct {
	What string   `json:"what"`
	Op   OpReport `json:"op"`
	// ThroughputRatio is scimd's creates per second over raw SQL's
	// inserts per second (1 = as fast as the database allows).
	ThroughputRatio float64 `json:"throughput_ratio"`
	// P50Ratio and P99Ratio are scimd's latency over raw SQL's.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// SameDatabase says whether the baseline database holds a user the
	// servers created in this run.
	SameDatabase bool `json:"same_database"`
}

// baselineInsert writes a user row as sqlstore's CreateUser does: one
// statement, outside a transaction, the same columns.
const baselineInsert = `INSERT INTO users (account_id, id, user_name, external_id, display_name, active, doc, created, last_modified, version, password_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)`

// baselineHash stands for the argon2id hash scimd stores for a password
// (provision --password): the same size in the row, without the hashing.
const baselineHash = "$argon2id$v=19$m=19456,t=2,p=1$c2NpbWxvYWRiYXNlbGluZQ$bG9hZGxvYWRsb2FkbG9hZGxvYWRsb2FkbG9hZGxvYWQ"

// checkBaselineURL accepts a PostgreSQL URL of this machine.
func checkBaselineURL(ctx context.Context, raw string, getenv func(string) string, resolve resolver) error {
	scheme, _, _ := strings.Cut(raw, ":")
	if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" {
		return fmt.Errorf("baseline-sql must be a postgres:// URL (the raw-SQL baseline runs on PostgreSQL only)")
	}
	return checkLocalDatabase(ctx, raw, getenv, resolve)
}

// baselineRun is a connection to the servers' PostgreSQL for the raw-SQL
// inserts, in an account of its own.
type baselineRun struct {
	db        *sql.DB
	accountID string
}

// openBaseline connects with up to concurrency connections and makes the
// baseline's account.
func openBaseline(ctx context.Context, url string, concurrency int) (*baselineRun, error) {
	db, err := openPostgres(url, concurrency)
	if err != nil {
		return nil, err
	}
	id := licensing.NewID()
	if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)`,
		id, "scimload-baseline-"+runID(), time.Now().UTC()); err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline database: make the baseline account (is it a migrated scimd database?): %w", err)
	}
	return &baselineRun{db: db, accountID: id}, nil
}

// openPostgres connects to the baseline's PostgreSQL, keeping up to conns
// connections open and idle.
func openPostgres(url string, conns int) (*sql.DB, error) {
	g, err := gorm.Open(postgres.Open(url), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return nil, fmt.Errorf("baseline database: %w", err)
	}
	db, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("baseline database: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// close deletes the baseline account with its users and disconnects.
func (b *baselineRun) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.db.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, b.accountID)
	b.db.Close()
}

// run inserts as many users as the HTTP run was asked to create, with the
// same concurrency and bound, and compares. createdID is a user the
// servers created, to check that this is their database.
func (b *baselineRun) run(ctx context.Context, p provisionConfig, scimd OpReport, createdID string) (BaselineReport, error) {
	rep := BaselineReport{What: fmt.Sprintf("raw SQL: %d single-row INSERTs into users (same columns and document), concurrency %d, same PostgreSQL, own account", p.users, p.concurrency)}
	if p.password {
		rep.What += "; a fixed password hash (the hashing is scimd's own cost)"
	}
	if createdID != "" {
		err := b.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, createdID).Scan(&rep.SameDatabase)
		if err != nil {
			return rep, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.duration)
	defer cancel()
	pattern := "raw-" + runID() + "-%07d@example.com"
	var next atomic.Int64
	recs, elapsed := runWorkers(p.concurrency, []string{"raw SQL insert"}, func(_ int, recs []*recorder) {
		rec := recs[0]
		for ctx.Err() == nil {
			i := next.Add(1) - 1
			if i >= int64(p.users) {
				return
			}
			body := userBody(fmt.Sprintf(pattern, i), int(i), p.attributes, nil)
			doc, err := storedDoc(body)
			if err != nil {
				panic(err)
			}
			var hash any
			if p.password {
				hash = baselineHash
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			t0 := time.Now()
			_, err = b.db.ExecContext(ctx, baselineInsert, b.accountID, licensing.NewID(), body["userName"], body["externalId"],
				body["displayName"], true, string(doc), now, now, hash)
			took := time.Since(t0)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil:
				rec.failDetail(errSQL, err.Error())
			default:
				rec.ok(took)
			}
		}
	})
	rep.Op = recs[0].report(elapsed)
	rep.ThroughputRatio = ratio(scimd.RatePerSec, rep.Op.RatePerSec)
	rep.P50Ratio = ratio(scimd.P50Ms, rep.Op.P50Ms)
	rep.P99Ratio = ratio(scimd.P99Ms, rep.Op.P99Ms)
	return rep, nil
}

// ratio is a/b rounded to three decimals, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}
