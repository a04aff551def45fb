-- The OpenID Connect scopes, with descriptions shown on the consent page.
INSERT INTO scopes (name, description, created_at) VALUES
    ('openid', 'Sign you in with your account', 0),
    ('profile', 'See your name and username', 0),
    ('email', 'See your email address', 0),
    ('offline_access', 'Keep access when you are not using the application', 0)
ON CONFLICT DO NOTHING;
