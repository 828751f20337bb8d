package server

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

func problemRecovery(log *slog.Logger) gin.HandlerFunc { return problem.Recovery(log) }

func notFound(c *gin.Context)         { problem.NotFound(c) }
func methodNotAllowed(c *gin.Context) { problem.MethodNotAllowed(c) }
