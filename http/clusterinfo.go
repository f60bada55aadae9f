package http

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText writes the cluster as floodgate cluster status prints it: the
// leader, then one row a member.
func (info ClusterInfo) WriteText(w io.Writer) {
	leader := info.Leader
	if leader == "" {
		leader = "(none: no quorum, or an election is under way)"
	}
	fmt.Fprintf(w, "leader: %s\n", leader)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tRAFT\tHTTP")
	for _, n := range info.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.ID, n.State, n.RaftAddr, n.HTTPAddr)
	}
	tw.Flush()
}
