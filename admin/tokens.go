package admin

// tokenRoutes lists the endpoints of this file.
func (h *Handler) tokenRoutes() []Route { return nil }
