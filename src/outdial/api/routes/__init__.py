"""Routes per resource: parse, call one service method, render."""
