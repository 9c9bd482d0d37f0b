package admin

// userRoutes lists the endpoints of this file.
func (h *Handler) userRoutes() []Route { return nil }
