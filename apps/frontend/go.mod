module github.com/sre-platform/platform/apps/frontend

go 1.26.0
