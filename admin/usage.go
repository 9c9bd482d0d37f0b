package admin

// usageRoutes lists the endpoints of this file.
func (h *Handler) usageRoutes() []Route { return nil }
