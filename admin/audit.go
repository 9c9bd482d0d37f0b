package admin

// auditRoutes lists the endpoints of this file.
func (h *Handler) auditRoutes() []Route { return nil }
