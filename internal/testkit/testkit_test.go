package testkit

import (
	"os"
	"testing"
)

// TestNodeSurvivesKill checks the harness itself: a node starts, sells one
// unit, is killed with SIGKILL, comes back on the same data dir and address,
// and still has the order.
func TestNodeSurvivesKill(t *testing.T) {
	n := StartNode(t, Options{})
	n.MustCreateDrop(t, DropRequest{ID: "kit", Name: "Kit", Stock: 2})
	o := n.MustBuy(t, "kit", "kit@example.com", "kit-key-1")
	pid := n.PID()
	if pid == 0 {
		t.Fatal("PID is 0 for a running node")
	}
	n.Kill()
	if n.Running() {
		t.Fatal("the node still runs after Kill")
	}
	n.Restart(t)
	if n.PID() == pid {
		t.Fatal("Restart kept the old process id")
	}
	orders := n.MustOrders(t, "kit")
	if len(orders) != 1 || orders[0].ID != o.ID {
		t.Fatalf("after restart the orders are %+v, want just %s", orders, o.ID)
	}
	d := n.MustDrop(t, "kit")
	if d.Sold != 1 || d.Available+d.Held+d.Sold != d.Stock {
		t.Fatalf("after restart the drop is %+v", d)
	}
}

func TestMain(m *testing.M) { os.Exit(RunMain(m)) }
