package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/recording"
)

func newSessionsCommand(a *app) *cobra.Command {
	return group("sessions", "List and replay recorded kubectl exec and attach sessions",
		newSessionsListCommand(a),
		newSessionsPlayCommand(a),
	)
}

func newSessionsListCommand(a *app) *cobra.Command {
	var cluster, user string
	cmd := &cobra.Command{
		Use: "list [--cluster NAME] [--user NAME]", Aliases: []string{"ls"}, Args: needArgs(),
		Short: "List recorded exec sessions, newest first: your own, or everyone's with the right to (admin)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListSessions(cmd.Context(), cluster, user)
			if err != nil {
				return explain(err, s.cfg, action{what: "list sessions"})
			}
			if list.Items == nil {
				list.Items = []herdapi.ExecSession{}
			}
			return a.print(list, func(w io.Writer) {
				row(w, "NAME", "USER", "CLUSTER", "POD", "COMMAND", "STARTED", "DURATION", "SIZE", "STATE")
				now := a.now()
				for _, e := range list.Items {
					user := e.Username
					if user == "" {
						user = e.User
					}
					if e.ImpersonatedUser != "" {
						user += " as " + e.ImpersonatedUser
					}
					pod := e.Namespace + "/" + e.Pod
					if e.Container != "" {
						pod += "/" + e.Container
					}
					command := strings.Join(e.Command, " ")
					if e.Kind == "attach" {
						command = "(attach)"
					}
					if len(command) > 40 {
						command = command[:37] + "..."
					}
					duration, state := "-", e.Phase
					if e.EndedAt != nil {
						duration = human(e.EndedAt.Sub(e.StartedAt))
					}
					if e.Truncated {
						state += ", truncated"
					}
					if e.LostBytes > 0 {
						state += ", " + strconv.FormatInt(e.LostBytes, 10) + " bytes lost"
					}
					row(w, e.Name, user, e.Cluster, pod, command, age(e.StartedAt, now)+" ago", duration, strconv.FormatInt(e.Bytes, 10), state)
				}
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "only sessions on this cluster")
	cmd.Flags().StringVar(&user, "user", "", "only sessions of this user (login name or id)")
	return cmd
}

func newSessionsPlayCommand(a *app) *cobra.Command {
	var speed float64
	var idle time.Duration
	var raw, cast bool
	cmd := &cobra.Command{
		Use:   "play NAME [--speed N] [--idle-limit DURATION] [--raw | --cast]",
		Short: "Replay a recorded exec session in this terminal at its pace (or faster)",
		Long: `Replay a recorded exec session in this terminal, at the pace it was recorded
(--speed 4: four times as fast; --idle-limit 2s: no pause longer than 2s).

The recorded output passes a filter first: escape sequences that would make
your terminal act (set its title, write the clipboard, answer queries) are
dropped; colours and cursor movement stay. --raw replays it as recorded.
--cast writes the asciicast v2 file instead, for asciinema and other players.`,
		Example: `  herdctl sessions play 20261206-231502-k3x9q2 --speed 2 --idle-limit 1s
  herdctl sessions play 20261206-231502-k3x9q2 --cast > session.cast`,
		Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if speed <= 0 || speed > 1000 {
				return fmt.Errorf("--speed %g: must be above 0 and at most 1000", speed)
			}
			if raw && cast {
				return fmt.Errorf("--raw and --cast: choose one")
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			data, err := s.client.Recording(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "read the recording of session " + args[0], kind: "session", name: args[0]})
			}
			if cast {
				_, err := a.stdout.Write(data)
				return err
			}
			if len(data) == 0 {
				return fmt.Errorf("session %s has nothing recorded yet: it began less than a second ago, or showed nothing so far", args[0])
			}
			r, err := recording.NewReader(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("session %s: %w", args[0], err)
			}
			h := r.Header
			fmt.Fprintf(a.stderr, "Replaying %s (%dx%d, recorded %s)\n", h.Title, h.Width, h.Height,
				time.Unix(h.Timestamp, 0).UTC().Format(time.RFC3339))
			err = recording.Play(cmd.Context(), r, a.stdout, recording.PlayOptions{Speed: speed, IdleLimit: idle, Raw: raw,
				Marker: func(at time.Duration, text string) {
					fmt.Fprintf(a.stderr, "\r\n[%s] %s\r\n", at.Round(time.Second), text)
				}})
			fmt.Fprintln(a.stderr, "\r\nEnd of the recording.")
			return err
		},
	}
	cmd.Flags().Float64Var(&speed, "speed", 1, "replay speed: 2 is twice as fast")
	cmd.Flags().DurationVar(&idle, "idle-limit", 0, "longest pause replayed (0: as recorded)")
	cmd.Flags().BoolVar(&raw, "raw", false, "replay the output exactly as recorded, escape sequences and all")
	cmd.Flags().BoolVar(&cast, "cast", false, "write the asciicast v2 recording instead of replaying it")
	return cmd
}
