package store

// UnreadCountsQuery exposes the unread-count query to the query-plan test.
var UnreadCountsQuery = unreadCountsQuery
