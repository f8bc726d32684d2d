package chatui

import "charm.land/lipgloss/v2"

// styles are the REPL's looks; colors are ANSI 16 so any terminal theme fits.
type styles struct {
	header, user, agent, handoff, info, err, footer lipgloss.Style
}

func defaultStyles() styles {
	return styles{
		header:  lipgloss.NewStyle().Bold(true),
		user:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Blue),
		agent:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Green),
		handoff: lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		info:    lipgloss.NewStyle().Faint(true),
		err:     lipgloss.NewStyle().Foreground(lipgloss.Red),
		footer:  lipgloss.NewStyle().Faint(true),
	}
}
