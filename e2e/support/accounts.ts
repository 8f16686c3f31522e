// The people of the e2e suite.
export const ADMIN = { email: "admin@foobar.test", name: "Ada Admin", password: "admin password 123" };
export const VIEWER = { email: "viewer@foobar.test", name: "Vic Viewer", password: "viewer password 123" };
