package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// TEMPORARY: replaced by the boot action implementation (issue 5, in progress).
var errTODO = errors.New("boot actions: not implemented yet")

func (s *Store) EnsureBootActions(ctx context.Context, l task.Lease, c store.BootActionContext, actions []store.BootAction) (store.BootActionContext, []store.BootAction, error) {
	return c, nil, errTODO
}
func (s *Store) GetBootActionContext(ctx context.Context, node string) (store.BootActionContext, error) {
	return store.BootActionContext{}, errTODO
}
func (s *Store) ListBootActions(ctx context.Context, node, deployment string) ([]store.BootAction, error) {
	return nil, errTODO
}
func (s *Store) GetBootAction(ctx context.Context, id string) (store.BootAction, []byte, error) {
	return store.BootAction{}, nil, errTODO
}
func (s *Store) ReportBootAction(ctx context.Context, id, status string, msgs []task.Message, now time.Time) (store.BootAction, error) {
	return store.BootAction{}, errTODO
}
func (s *Store) BootActionsChanged() <-chan struct{} { return nil }
func (s *Store) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	return store.PurgeResult{}, errTODO
}
