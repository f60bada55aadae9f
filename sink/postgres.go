package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/floodgate/floodgate/sale"
)

// postgresSink upserts one row per order, keyed by the order id, in one
// transaction per batch. A row only ever moves to a later seq, so a batch
// delivered twice (at least once) leaves the table as it was.
type postgresSink struct {
	dsn     string
	table   string
	timeout time.Duration
	conn    *pgx.Conn
}

func (p *postgresSink) ident() string { return pgx.Identifier{p.table}.Sanitize() }

func (p *postgresSink) connect(ctx context.Context) (*pgx.Conn, error) {
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	cfg, err := pgx.ParseConfig(p.dsn)
	if err != nil {
		return nil, fmt.Errorf("the DSN does not parse: %s", redactErr(err, p.dsn))
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > p.timeout {
		cfg.ConnectTimeout = p.timeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, errors.New(redactErr(err, p.dsn))
	}
	p.conn = conn
	return conn, nil
}

// fail drops the connection after an error, so the next attempt reconnects.
func (p *postgresSink) fail(err error) error {
	if p.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = p.conn.Close(ctx)
		cancel()
		p.conn = nil
	}
	return errors.New(redactErr(err, p.dsn))
}

func (p *postgresSink) prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+p.ident()+` (
	id         text PRIMARY KEY,
	drop       text NOT NULL,
	customer   text NOT NULL,
	quantity   bigint NOT NULL,
	voucher    text,
	status     text NOT NULL,
	seq        bigint NOT NULL,
	created_at timestamptz NOT NULL,
	pay_by     timestamptz,
	updated_at timestamptz NOT NULL
)`)
	if err != nil {
		return p.fail(err)
	}
	return nil
}

// batch: one transaction takes many rows cheaply.
func (p *postgresSink) batch() int { return 500 }

func (p *postgresSink) close() {
	if p.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = p.conn.Close(ctx)
		cancel()
	}
}

func (p *postgresSink) deliver(ctx context.Context, events []sale.Event) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, p.fail(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	q := `INSERT INTO ` + p.ident() + ` AS t (id, drop, customer, quantity, voucher, status, seq, created_at, pay_by, updated_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET drop = EXCLUDED.drop, customer = EXCLUDED.customer, quantity = EXCLUDED.quantity,
	voucher = EXCLUDED.voucher, status = EXCLUDED.status, seq = EXCLUDED.seq, created_at = EXCLUDED.created_at,
	pay_by = EXCLUDED.pay_by, updated_at = EXCLUDED.updated_at
WHERE t.seq < EXCLUDED.seq`
	var b pgx.Batch
	for i := range events {
		e := &events[i]
		o := &e.Order
		var payBy *time.Time
		if o.PayBy != 0 {
			t := sale.Time(o.PayBy)
			payBy = &t
		}
		b.Queue(q, o.ID, o.Drop, o.Customer, o.Quantity, o.Voucher, o.Status, int64(e.Seq), sale.Time(o.CreatedAt), payBy, sale.Time(e.At))
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return 0, p.fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, p.fail(err)
	}
	return len(events), nil
}
