// Package nice runs background work on idle CPU: a goroutine locked to its OS
// thread lowers that thread's scheduling priority, so the work it does only
// takes CPU nothing else wants. ThreadCPU and ProcessCPU measure the CPU
// time such work, or the whole process, has used.
package nice
