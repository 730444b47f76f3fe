// Command sotto is the sotto secure messaging server and its admin tools.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stop() // first signal: graceful shutdown
		<-sig
		fmt.Fprintln(os.Stderr, "sotto: second signal, exiting now")
		os.Exit(130)
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		os.Exit(exitCode(err))
	}
}
