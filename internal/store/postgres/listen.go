package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drydock-go/drydock/internal/store/sqlstore"
)

// Listener reconnection delays: the first retry comes after minBackoff, each failure doubles
// the delay up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// ListenerApplicationName is the application_name of a store's listening connection, followed
// by the store's instance (sqlstore.Store.Instance): it tells that connection apart in
// pg_stat_activity.
const ListenerApplicationName = "drydock-listener-"

// listener holds a connection of its own (outside the pool: it is busy for good) that LISTENs on
// sqlstore.BootActionsChannel and wakes the store's BootActionsChanged waiters at every notice
// from another store on the same schema (notices of the store itself are ignored: it woke its
// waiters in-process). When the connection fails it reconnects, with backoff, and then wakes
// the waiters once, since notices sent meanwhile were lost.
type listener struct {
	cfg      *pgx.ConnConfig
	instance string
	wake     func()
	schema   string // the schema the store's tables are in

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// startListener connects and starts listening before it returns, so that every report
// committed after Open returns is heard.
func startListener(ctx context.Context, cfg *pgx.ConnConfig, instance string, wake func()) (*listener, error) {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = ListenerApplicationName + instance
	l := &listener{cfg: cfg, instance: instance, wake: wake, done: make(chan struct{})}
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen for boot action reports: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(runCtx, conn)
	return l, nil
}

// connect opens the listening connection and learns the schema.
func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	var schema string
	err = conn.QueryRow(ctx, `SELECT COALESCE(current_schema(), '')`).Scan(&schema)
	if err == nil {
		_, err = conn.Exec(ctx, `LISTEN `+sqlstore.BootActionsChannel)
	}
	if err != nil {
		closeConn(conn)
		return nil, err
	}
	l.schema = schema
	return conn, nil
}

// run waits for notices until ctx ends, reconnecting when the connection fails.
func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	backoff := minBackoff
	for {
		if conn != nil {
			l.serve(ctx, conn)
			closeConn(conn)
			conn = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		c, err := l.connect(ctx)
		if err != nil {
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		conn, backoff = c, minBackoff
		l.wake() // what was reported while we were away was not heard
	}
}

// serve wakes the waiters at each relevant notice, until the connection fails or ctx ends.
func (l *listener) serve(ctx context.Context, conn *pgx.Conn) {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		if n.Channel != sqlstore.BootActionsChannel {
			continue
		}
		instance, schema, _, ok := sqlstore.ParseBootActionNotice(n.Payload)
		if ok && (instance == l.instance || schema != l.schema) {
			continue
		}
		l.wake()
	}
}

// close stops the listener and closes its connection.
func (l *listener) close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		<-l.done
	})
	return nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is gone either way
}
