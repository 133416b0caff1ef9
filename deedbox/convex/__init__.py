"""deedbox.convex"""
