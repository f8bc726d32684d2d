package chatui

import "charm.land/bubbles/v2/key"

// keyMap are the REPL's keys; everything else goes to the input line.
type keyMap struct {
	Send, Cancel, Quit, PageUp, PageDown key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Send:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop")),
		Quit:     key.NewBinding(key.WithKeys("ctrl+c", "ctrl+d"), key.WithHelp("ctrl+c", "quit")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "scroll")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "scroll down")),
	}
}

// help is the footer line.
func (k keyMap) help() string {
	s := ""
	for _, b := range []key.Binding{k.Send, k.Cancel, k.PageUp, k.Quit} {
		h := b.Help()
		s += h.Key + " " + h.Desc + " · "
	}
	return s + "/help commands"
}
