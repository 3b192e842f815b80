"""Pure decisions: functions of plain data. No environment, network, files or clocks here."""
