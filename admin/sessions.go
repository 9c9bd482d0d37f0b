package admin

// sessionRoutes lists the endpoints of this file.
func (h *Handler) sessionRoutes() []Route { return nil }
